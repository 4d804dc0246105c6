"""Runs advance in Celery, one task per wave re-queued with the pause as countdown; without a broker (eager
Celery) only a single-wave run starts, in the caller."""

import pytest

from apps.commands.models import Command
from apps.groups.exceptions import WavesNeedWorkerError
from apps.groups.models import GroupRun
from apps.groups.selectors import group_run_progress
from apps.groups.services import group_run_start
from apps.groups.tasks import group_run_advance, group_run_launch, tasks_run_inline
from tests.groups.factories import StationGroupFactory
from tests.stations.factories import StationFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(monkeypatch):
    """The tasks queued (`apply_async` calls) instead of sent to a broker."""
    calls = []
    monkeypatch.setattr(group_run_advance, "apply_async", lambda args, **options: calls.append((args, options)))
    return calls


@pytest.fixture
def with_broker():
    """Celery as with CELERY_BROKER_URL set: tasks go to the broker (here: `queued`)."""
    conf = group_run_advance.app.conf
    eager = conf.task_always_eager
    conf.task_always_eager = False
    yield
    conf.task_always_eager = eager


def run_of(count: int, **fields) -> GroupRun:
    stations = [StationFactory(identity=f"CP-{n}", protocol="ocpp1.6") for n in range(1, count + 1)]
    return group_run_start(group=StationGroupFactory(stations=stations), operation="clear_cache", **fields)


def test_the_task_sends_a_wave_and_queues_the_next_after_the_pause(tenant_schema, queued):
    run = run_of(3, wave_size=2, wave_interval_s=90)
    schema = tenant_schema.schema_name

    group_run_advance(schema, run.pk, 1)
    group_run_advance(schema, run.pk, 1)  # delivered twice: the wave is taken, nothing more is sent or queued

    assert Command.objects.count() == 2
    assert queued == [((schema, run.pk, 2), {"countdown": 90})]

    group_run_advance(*queued[0][0])

    assert Command.objects.count() == 3
    assert len(queued) == 1  # the last wave queues nothing
    run.refresh_from_db()
    assert run.status == "completed"
    assert str(group_run_progress(run)) == "3/3 done: 3 offline"


def test_the_task_does_nothing_for_a_cancelled_or_missing_run(tenant_schema, queued):
    run = run_of(2, wave_size=1)
    GroupRun.objects.filter(pk=run.pk).update(status="cancelled")

    group_run_advance(tenant_schema.schema_name, run.pk, 1)
    group_run_advance(tenant_schema.schema_name, 999_999, 1)

    assert not Command.objects.exists() and queued == []


def test_without_a_broker_celery_is_eager_and_a_single_wave_run_is_sent_in_the_caller(tenant_schema, queued):
    assert tasks_run_inline()  # the test settings have no broker, as local ones without REDIS_URL
    run = run_of(3)

    run = group_run_launch(run)

    assert (run.status, str(group_run_progress(run))) == ("completed", "3/3 done: 3 offline")
    assert queued == []


def test_without_a_broker_a_run_in_several_waves_is_refused_and_cancelled(tenant_schema, queued):
    run = run_of(3, wave_size=2)

    with pytest.raises(WavesNeedWorkerError, match="A run in 2 waves needs a Celery worker"):
        group_run_launch(run)

    run.refresh_from_db()
    assert (run.status, run.detail) == (
        "cancelled",
        "A run in 2 waves needs a Celery worker (set CELERY_BROKER_URL or REDIS_URL).",
    )
    assert not Command.objects.exists() and queued == []


@pytest.mark.usefixtures("with_broker")
def test_with_a_broker_the_first_wave_is_queued_for_a_worker(tenant_schema, queued):
    assert not tasks_run_inline()
    several = run_of(3, wave_size=2)
    single = group_run_start(group=StationGroupFactory(stations=[StationFactory()]), operation="clear_cache")

    group_run_launch(several)
    group_run_launch(single)

    schema = tenant_schema.schema_name
    assert queued == [((schema, several.pk, 1), {}), ((schema, single.pk, 1), {})]
    assert not Command.objects.exists()
