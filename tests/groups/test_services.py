"""Runs: validated before anything is recorded, stations frozen and split into waves, one wave sent at a time,
progress counted from the commands' outcomes, a failing wave stops the rollout, a cancel stops further waves.

Stations that are not connected get `offline` at once, so these runs need no server; outcomes other than offline
are set on the commands by `answering`, which wraps the real `commands_send`.
"""

import pytest
from rest_framework.exceptions import ValidationError

from apps.commands import services as command_services
from apps.commands.models import Command
from apps.groups import services as group_services
from apps.groups.models import GroupRun, GroupRunItem
from apps.groups.selectors import Progress, group_run_list, group_run_progress
from apps.groups.services import group_run_cancel, group_run_start, group_run_wave
from tests.groups.factories import StationGroupFactory
from tests.stations.factories import StationFactory

transactional = pytest.mark.django_db(transaction=True)


def group_of(count: int, protocol: str = "ocpp1.6", **fields):
    stations = [StationFactory(identity=f"CP-{n}", protocol=protocol, **fields) for n in range(1, count + 1)]
    return StationGroupFactory(stations=stations)


@pytest.fixture
def answering(monkeypatch):
    """`answering({"CP-1": "accepted", ...})`: the stations named answer so (the others stay offline)."""

    def install(outcomes: dict[str, str]):
        real = command_services.commands_send

        def commands_send(**fields):
            commands, refusals = real(**fields)
            for command in commands:
                if command.station.identity in outcomes:
                    command.status = outcomes[command.station.identity]
                    Command.objects.filter(pk=command.pk).update(status=command.status)
            return commands, refusals

        monkeypatch.setattr(group_services, "commands_send", commands_send)

    return install


@pytest.mark.usefixtures("tenant_schema")
@pytest.mark.parametrize(
    ("operation", "params", "field"),
    [
        ("unlock_connector", {"evse_id": 0}, "evse_id"),
        ("remote_start", {}, "id_token"),
        ("reset", {"kind": "sideways"}, "kind"),
        ("self_destruct", {}, "operation"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field_and_nothing_is_created(operation, params, field):
    group = group_of(2)

    with pytest.raises(ValidationError) as refused:
        group_run_start(group=group, operation=operation, params=params, wave_size=1)

    assert list(refused.value.detail) == [field]
    assert not GroupRun.objects.exists() and not GroupRunItem.objects.exists() and not Command.objects.exists()


@pytest.mark.usefixtures("tenant_schema")
def test_bad_wave_settings_and_an_empty_group_are_refused():
    with pytest.raises(ValidationError) as refused:
        group_run_start(
            group=group_of(1), operation="clear_cache", wave_size=-1, wave_interval_s=-5, stop_on_failure_rate=101
        )
    assert set(refused.value.detail) == {"wave_size", "wave_interval_s", "stop_on_failure_rate"}

    with pytest.raises(ValidationError) as empty:
        group_run_start(group=StationGroupFactory(name="Nobody"), operation="clear_cache")
    assert empty.value.detail == {"group": ["The group 'Nobody' has no stations."]}
    assert not GroupRun.objects.exists()


@pytest.mark.usefixtures("tenant_schema")
def test_five_stations_in_waves_of_two_make_waves_of_two_two_and_one_frozen_at_start():
    group = group_of(5)

    run = group_run_start(group=group, operation="reset", params={"kind": "hard"}, wave_size=2, wave_interval_s=60)
    group.stations.add(StationFactory(identity="CP-LATE"))  # joins the group, not the run

    waves = [(item.station.identity, item.wave) for item in run.items.select_related("station")]
    assert waves == [("CP-1", 1), ("CP-2", 1), ("CP-3", 2), ("CP-4", 2), ("CP-5", 3)]
    assert (run.waves, run.current_wave, run.status, run.group_name) == (3, 0, "pending", group.name)
    assert run.params == {"kind": "hard"}
    assert str(group_run_progress(run)) == "0/5 done"


@pytest.mark.usefixtures("tenant_schema")
def test_wave_size_zero_is_one_wave_with_every_station():
    run = group_run_start(group=group_of(4), operation="clear_cache")

    assert run.waves == 1
    assert set(run.items.values_list("wave", flat=True)) == {1}


@transactional
def test_one_wave_sends_only_that_waves_commands_and_the_next_is_due_after_the_pause(tenant_schema):
    run = group_run_start(group=group_of(5), operation="reset", wave_size=2, wave_interval_s=60, source="admin")

    run = group_run_wave(run)

    sent = Command.objects.order_by("station__identity")
    assert [(c.station.identity, c.status, c.source) for c in sent] == [
        ("CP-1", "offline", "admin"),
        ("CP-2", "offline", "admin"),
    ]
    assert (run.status, run.current_wave) == ("running", 1)
    assert 59 <= (run.next_wave_at - run.started_at).total_seconds() <= 61
    assert str(group_run_progress(run)) == "2/5 done: 2 offline"
    assert [item.command_id is not None for item in run.items.all()] == [True, True, False, False, False]


@transactional
def test_waves_go_one_after_the_other_until_the_run_is_completed(tenant_schema):
    run = group_run_start(group=group_of(5), operation="clear_cache", wave_size=2)

    statuses = [(group_run_wave(run).status, Command.objects.count()) for _ in range(3)]

    assert statuses == [("running", 2), ("running", 4), ("completed", 5)]
    assert group_run_wave(run) is None  # nothing left to send
    run.refresh_from_db()
    assert run.finished_at is not None and run.next_wave_at is None


@transactional
def test_progress_counts_follow_the_commands_outcomes(tenant_schema, answering):
    group = group_of(5)
    group.stations.add(StationFactory(identity="CP-NEW", protocol="ocpp2.0.1"))
    answering({"CP-1": "accepted", "CP-2": "accepted", "CP-3": "rejected", "CP-4": "timeout"})
    run = group_run_start(group=group, operation="get_configuration")  # 1.6 only: CP-NEW is refused

    run = group_run_wave(run)

    progress = group_run_progress(run)
    assert (progress.accepted, progress.rejected, progress.timeout, progress.offline, progress.error) == (2, 1, 1, 1, 1)
    assert (progress.total, progress.done, progress.in_flight, progress.not_sent) == (6, 6, 0, 0)
    assert str(progress) == "6/6 done: 2 accepted, 1 rejected, 1 timeout, 1 offline, 1 error"
    assert Progress.of(group_run_list().get(pk=run.pk)) == progress  # the runs list counts the same
    refused = run.items.get(station__identity="CP-NEW")
    assert refused.command is None
    assert refused.refusal == "operation: Get configuration exists in ocpp1.6; this station speaks ocpp2.0.1."
    assert run.status == "completed"


@transactional
def test_a_wave_failing_above_the_threshold_stops_the_rollout(tenant_schema, answering):
    answering({"CP-1": "accepted", "CP-2": "accepted", "CP-3": "accepted", "CP-4": "rejected"})
    run = group_run_start(group=group_of(6), operation="reset", wave_size=2, stop_on_failure_rate=40)

    first = group_run_wave(run)  # CP-1, CP-2 accepted
    second = group_run_wave(run)  # CP-3 accepted, CP-4 rejected: 50 % > 40 %

    assert first.status == "running"
    assert (second.status, second.detail) == (
        "stopped",
        "Stopped after wave 2 of 3: 1 of 2 stations did not accept (50 % > 40 %).",
    )
    assert group_run_wave(run) is None
    assert Command.objects.count() == 4
    progress = group_run_progress(run)
    assert (progress.accepted, progress.rejected, progress.not_sent) == (3, 1, 2)


@transactional
def test_a_wave_at_the_threshold_goes_on(tenant_schema, answering):
    answering({"CP-1": "accepted", "CP-2": "rejected"})
    run = group_run_start(group=group_of(4), operation="reset", wave_size=2, stop_on_failure_rate=50)

    assert group_run_wave(run).status == "running"  # 50 % is not more than 50 %
    assert group_run_wave(run).status == "completed"  # the last wave completes the run, whatever its failures


@transactional
def test_cancel_stops_further_waves(tenant_schema):
    run = group_run_start(group=group_of(5), operation="clear_cache", wave_size=2)
    group_run_wave(run)

    cancelled = group_run_cancel(run)

    assert (cancelled.status, cancelled.detail) == ("cancelled", "Cancelled after wave 1 of 3.")
    assert group_run_wave(run) is None
    assert Command.objects.count() == 2
    assert group_run_progress(run).not_sent == 3
    assert group_run_cancel(run).finished_at == cancelled.finished_at  # a finished run stays as it is


@pytest.mark.usefixtures("tenant_schema")
def test_a_wave_is_never_sent_inside_a_transaction():
    run = group_run_start(group=group_of(1), operation="clear_cache")

    with pytest.raises(RuntimeError, match="outside transaction.atomic"):
        group_run_wave(run)
