"""Runs advance in Celery: one task per wave, each queueing the next with the run's pause as countdown."""

from django.db import connection, transaction

from apps.groups.exceptions import WavesNeedWorkerError
from apps.groups.models import GroupRun
from apps.groups.services import group_run_cancel, group_run_wave
from apps.whitelabel.tenancy import tenant_task


@tenant_task()
def group_run_advance(run_id: int, wave: int | None = None) -> None:
    """Send wave `wave` (None: the next one) of the run, then queue the next wave after the pause.

    A duplicate delivery (Celery delivers at least once) finds its wave taken and queues nothing.
    """
    run = GroupRun.objects.filter(pk=run_id).first()
    if run is None or not run.is_active:
        return
    run = group_run_wave(run, wave=wave)
    if run is not None and run.status == GroupRun.Status.RUNNING and run.current_wave < run.waves:
        group_run_advance.apply_async(
            (connection.schema_name, run.pk, run.current_wave + 1), countdown=run.wave_interval_s
        )


def tasks_run_inline() -> bool:
    """True without a Celery broker: the settings make Celery eager, so a queued task runs at once in the caller
    and its countdown is ignored (config/settings/celery.py)."""
    return bool(group_run_advance.app.conf.task_always_eager)


def group_run_launch(run: GroupRun) -> GroupRun:
    """Start the run's waves and return the run.

    With a broker, the first wave is queued (after the caller's transaction commits) and a worker sends it.
    Without one, a single-wave run is sent here, in the caller, which waits for its outcomes; a run in several
    waves is cancelled and raises `WavesNeedWorkerError`, since Celery would send every wave at once in the caller,
    without the pauses (check `tasks_run_inline()` before starting one).
    """
    if tasks_run_inline():
        if run.waves > 1:
            reason = f"A run in {run.waves} waves needs a Celery worker (set CELERY_BROKER_URL or REDIS_URL)."
            group_run_cancel(run)
            GroupRun.objects.filter(pk=run.pk).update(detail=reason)
            raise WavesNeedWorkerError(reason)
        return group_run_wave(run, wave=1) or run
    schema_name = connection.schema_name
    transaction.on_commit(lambda: group_run_advance.apply_async((schema_name, run.pk, 1)))
    return run
