"""Bulk operations over the API: one endpoint per operation starts a run on a group's stations in waves (sent in the
request without a Celery worker, queued with one), runs are read with their progress and per-station outcomes, and
cancelled.

Stations that are not connected answer `offline` at once, so the runs sent here need no server; sending happens
outside a transaction (as `commands_send` requires), hence `transaction=True` where a run is sent.
"""

import itertools
import json

import pytest
from django_tenants.utils import schema_context

from apps.api.models import Scope
from apps.api.services import PREFIX_LENGTH
from apps.commands.models import Command
from apps.groups.models import GroupRun
from apps.groups.services import group_run_start
from apps.groups.tasks import group_run_advance
from tests.api.conftest import api_client, key_in
from tests.groups.factories import StationGroupFactory
from tests.stations.factories import StationFactory

ALPHA = "alpha.localhost"
_groups = itertools.count(1)


def start(client, group_id: int, operation: str, body=None, *, slash: bool = True):
    url = f"/api/v1/groups/{group_id}/runs/{operation}{'/' if slash else ''}"
    return client.post(url, json.dumps(body if body is not None else {}), content_type="application/json")


def group_of(tenant, count: int, protocol: str = "ocpp1.6", prefix: str = "CP"):
    with schema_context(tenant.schema_name):
        stations = [StationFactory(identity=f"{prefix}-{n}", protocol=protocol) for n in range(1, count + 1)]
        return StationGroupFactory(stations=stations)


def fields_of(response) -> dict:
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    return response.json()["error"]["fields"]


def runs_in(tenant) -> list[tuple[str, str]]:
    with schema_context(tenant.schema_name):
        return list(GroupRun.objects.order_by("pk").values_list("operation", "status"))


def pending_run(tenant, count: int = 2, **fields) -> GroupRun:
    """A run recorded but not sent (as with a worker that has not taken its first wave yet)."""
    group = group_of(tenant, count, prefix=f"P{next(_groups)}")
    with schema_context(tenant.schema_name):
        return group_run_start(group=group, operation="clear_cache", **fields)


@pytest.fixture
def with_broker(monkeypatch):
    """Celery as with CELERY_BROKER_URL set; the tasks queued are recorded instead of sent to a broker."""
    queued = []
    monkeypatch.setattr(group_run_advance, "apply_async", lambda args, **options: queued.append(args))
    conf = group_run_advance.app.conf
    eager = conf.task_always_eager
    conf.task_always_eager = False
    yield queued
    conf.task_always_eager = eager


# --- starting runs --------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_without_a_worker_a_run_is_sent_in_the_request_and_its_outcomes_read(tenant):
    key = key_in(tenant, scopes=[Scope.COMMANDS_WRITE, Scope.COMMANDS_READ])
    api = api_client(ALPHA, key)
    group = group_of(tenant, 3)

    response = start(api, group.pk, "reset", {"kind": "hard", "stop_on_failure_rate": 50})

    assert response.status_code == 202, response.content
    run = response.json()
    assert response["Location"] == f"http://alpha.localhost/api/v1/group-runs/{run['id']}/"
    assert (run["group"], run["group_name"], run["operation"], run["params"]) == (
        group.pk,
        group.name,
        "reset",
        {"kind": "hard"},
    )
    assert (run["status"], run["is_active"], run["waves"], run["current_wave"]) == ("completed", False, 1, 1)
    assert (run["source"], run["client_id"], run["stop_on_failure_rate"]) == ("api", f"key:{key[:PREFIX_LENGTH]}", 50)
    assert run["progress"] == {
        "total": 3,
        "done": 3,
        "accepted": 0,
        "rejected": 0,
        "timeout": 0,
        "offline": 3,
        "error": 0,
        "in_flight": 0,
        "not_sent": 0,
    }
    assert [(item["station_identity"], item["wave"], item["outcome"]) for item in run["items"]] == [
        ("CP-1", 1, "offline"),
        ("CP-2", 1, "offline"),
        ("CP-3", 1, "offline"),
    ]
    # Each station's command is one of the commands, sent on behalf of the same client.
    command = api.get(f"/api/v1/commands/{run['items'][0]['command']}/").json()
    assert (command["operation"], command["status"], command["client_id"]) == ("reset", "offline", run["client_id"])
    assert api.get(response["Location"]).json() == run
    with schema_context(tenant.schema_name):
        assert Command.objects.filter(requested_by_client=run["client_id"]).count() == 3


@pytest.mark.django_db(transaction=True)
def test_every_operation_has_its_own_path_with_or_without_a_slash(tenant):
    api = api_client(ALPHA, key_in(tenant, scopes=[Scope.COMMANDS_WRITE]))
    group = group_of(tenant, 1, protocol="")  # a station that never said its version takes every operation

    for slash in (True, False):
        response = start(api, group.pk, "clear_cache", slash=slash)
        assert (response.status_code, response.json()["items"][0]["outcome"]) == (202, "offline")
    unknown = start(api, group.pk, "self_destruct")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert unknown.json()["error"]["message"].startswith("No operation 'self_destruct'. Operations: reset, ")
    assert runs_in(tenant) == [("clear_cache", "completed")] * 2


@pytest.mark.django_db(transaction=True)
def test_a_station_whose_version_lacks_the_operation_is_refused_alone(tenant):
    api = api_client(ALPHA, key_in(tenant))
    with schema_context(tenant.schema_name):
        old, new = (
            StationFactory(identity="CP-16", protocol="ocpp1.6"),
            StationFactory(identity="CP-201", protocol="ocpp2.0.1"),
        )
        group = StationGroupFactory(stations=[old, new])

    run = start(api, group.pk, "get_configuration", {"keys": ["HeartbeatInterval"]}).json()

    by_station = {item["station_identity"]: item for item in run["items"]}
    assert (by_station["CP-16"]["outcome"], by_station["CP-16"]["refusal"]) == ("offline", "")
    assert by_station["CP-201"]["outcome"] == "refused" and by_station["CP-201"]["command"] is None
    assert "ocpp2.0.1" in by_station["CP-201"]["refusal"]
    assert (run["progress"]["offline"], run["progress"]["error"], run["progress"]["done"]) == (1, 1, 2)


def test_with_a_worker_the_run_is_queued_in_waves_and_answered_at_once(
    tenant, with_broker, django_capture_on_commit_callbacks
):
    api = api_client(ALPHA, key_in(tenant))
    group = group_of(tenant, 5)

    with django_capture_on_commit_callbacks(execute=True):
        response = start(api, group.pk, "clear_cache", {"wave_size": 2, "wave_interval_s": 600})

    assert response.status_code == 202, response.content
    run = response.json()
    assert (run["status"], run["waves"], run["current_wave"], run["wave_interval_s"]) == ("pending", 3, 0, 600)
    assert [item["wave"] for item in run["items"]] == [1, 1, 2, 2, 3]
    assert {item["outcome"] for item in run["items"]} == {"not_sent"}
    assert (run["progress"]["not_sent"], run["progress"]["done"]) == (5, 0)
    assert with_broker == [(tenant.schema_name, run["id"], 1)]  # the first wave, for a worker to send
    with schema_context(tenant.schema_name):
        assert not Command.objects.exists()


def test_without_a_worker_a_run_in_several_waves_is_refused_naming_wave_size(tenant, alpha_api):
    group = group_of(tenant, 3)

    response = start(alpha_api, group.pk, "clear_cache", {"wave_size": 2})

    assert list(fields_of(response)) == ["wave_size"]
    assert "Celery worker" in fields_of(response)["wave_size"][0]
    assert runs_in(tenant) == []


@pytest.mark.parametrize(
    ("operation", "body", "field"),
    [
        ("reset", {"kind": "sideways"}, "kind"),
        ("remote_start", {"evse_id": 1}, "id_token"),
        ("clear_cache", {"wave_size": -1}, "wave_size"),
        ("clear_cache", {"wave_interval_s": "soon"}, "wave_interval_s"),
        ("clear_cache", {"stop_on_failure_rate": 101}, "stop_on_failure_rate"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_recorded(tenant, alpha_api, operation, body, field):
    group = group_of(tenant, 2)

    assert list(fields_of(start(alpha_api, group.pk, operation, body))) == [field]
    assert runs_in(tenant) == []


def test_an_empty_group_or_a_body_that_is_not_an_object_is_refused(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        empty = StationGroupFactory()
    group = group_of(tenant, 1)

    refused = start(alpha_api, empty.pk, "clear_cache")

    assert fields_of(refused) == {"group": [f"The group {empty.name!r} has no stations."]}
    listed = alpha_api.post(f"/api/v1/groups/{group.pk}/runs/clear_cache/", "[1]", content_type="application/json")
    assert (listed.status_code, listed.json()["error"]["code"]) == (400, "invalid")
    assert runs_in(tenant) == []


def test_another_brands_group_is_not_found_and_nothing_is_run(tenant, outsider, alpha_api):
    theirs = group_of(outsider, 2)

    for operation in ("reset", "clear_cache"):
        response = start(alpha_api, theirs.pk, operation, {"kind": "soft"} if operation == "reset" else {})
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert runs_in(outsider) == [] and runs_in(tenant) == []
    with schema_context(outsider.schema_name):
        assert not Command.objects.exists()


def test_starting_needs_commands_write_and_this_brands_key(tenant, outsider):
    group = group_of(tenant, 1)
    reader = api_client(ALPHA, key_in(tenant, scopes=[Scope.COMMANDS_READ, Scope.GROUPS_READ]))
    stranger = api_client(ALPHA, key_in(outsider))

    refused = start(reader, group.pk, "clear_cache")
    unknown = start(stranger, group.pk, "clear_cache")

    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "scope_missing")
    assert "commands:write" in refused.json()["error"]["message"]
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (401, "api_key_unknown")
    assert start(api_client(ALPHA, None), group.pk, "clear_cache").status_code == 401
    assert runs_in(tenant) == []


# --- reading runs ---------------------------------------------------------------------------------------------------


def test_runs_are_listed_newest_first_with_progress_and_filtered(tenant, alpha_api):
    first = pending_run(tenant)
    with schema_context(tenant.schema_name):
        group = StationGroupFactory(stations=[StationFactory(identity="R-1")])
        second = group_run_start(group=group, operation="reset", params={"kind": "soft"}, source="admin")
        GroupRun.objects.filter(pk=first.pk).update(status="cancelled")

    def ids(**query) -> list[int]:
        response = alpha_api.get("/api/v1/group-runs/", query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    rows = alpha_api.get("/api/v1/group-runs/").json()["results"]
    assert [row["id"] for row in rows] == [second.pk, first.pk]
    assert (rows[0]["progress"]["total"], rows[0]["progress"]["not_sent"], rows[1]["progress"]["total"]) == (1, 1, 2)
    assert "items" not in rows[0]
    assert ids(ordering="id") == [first.pk, second.pk]
    assert ids(group=group.pk) == [second.pk]
    assert ids(status="cancelled") == [first.pk]
    assert ids(operation="reset") == [second.pk]
    assert ids(source="admin") == [second.pk]
    for bad in ({"status": "finished"}, {"operation": "self_destruct"}, {"group": "one"}, {"source": "cli?"}):
        assert list(fields_of(alpha_api.get("/api/v1/group-runs/", bad))) == list(bad)


def test_a_run_outlives_its_group(tenant, alpha_api):
    run = pending_run(tenant)
    with schema_context(tenant.schema_name):
        run.group.delete()

    body = alpha_api.get(f"/api/v1/group-runs/{run.pk}/").json()

    assert (body["group"], body["group_name"]) == (None, run.group_name)


def test_another_brands_run_is_not_found_read_or_cancelled(tenant, outsider, alpha_api):
    theirs = pending_run(outsider)

    read = alpha_api.get(f"/api/v1/group-runs/{theirs.pk}/")
    cancelled = alpha_api.post(f"/api/v1/group-runs/{theirs.pk}/cancel/")
    listed = alpha_api.get("/api/v1/group-runs/").json()["results"]

    assert (read.status_code, cancelled.status_code, listed) == (404, 404, [])
    assert runs_in(outsider) == [("clear_cache", "pending")]


def test_reading_needs_commands_read_and_this_brands_key(tenant, outsider):
    run = pending_run(tenant)
    writer = api_client(ALPHA, key_in(tenant, scopes=[Scope.COMMANDS_WRITE]))
    stranger = api_client(ALPHA, key_in(outsider))

    for path in ("/api/v1/group-runs/", f"/api/v1/group-runs/{run.pk}/"):
        refused, unknown = writer.get(path), stranger.get(path)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "scope_missing")
        assert "commands:read" in refused.json()["error"]["message"]
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (401, "api_key_unknown")


# --- cancelling -----------------------------------------------------------------------------------------------------


def test_a_cancelled_run_sends_no_further_wave(tenant, alpha_api):
    run = pending_run(tenant, count=3, wave_size=1)

    response = alpha_api.post(f"/api/v1/group-runs/{run.pk}/cancel/")
    again = alpha_api.post(f"/api/v1/group-runs/{run.pk}/cancel/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["is_active"], body["detail"]) == ("cancelled", False, "Cancelled after wave 0 of 3.")
    assert body["progress"]["not_sent"] == 3 and body["finished_at"] is not None
    assert (again.status_code, again.json()["status"]) == (200, "cancelled")
    with schema_context(tenant.schema_name):
        group_run_advance(tenant.schema_name, run.pk, 1)  # a wave delivered late by a worker
        assert not Command.objects.exists()


def test_a_run_that_has_ended_cannot_be_cancelled(tenant, alpha_api):
    run = pending_run(tenant)
    with schema_context(tenant.schema_name):
        GroupRun.objects.filter(pk=run.pk).update(status="completed")

    response = alpha_api.post(f"/api/v1/group-runs/{run.pk}/cancel/")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "group_run_finished")
    assert runs_in(tenant) == [("clear_cache", "completed")]


def test_cancelling_needs_commands_write_and_this_brands_key(tenant, outsider):
    run = pending_run(tenant)
    reader = api_client(ALPHA, key_in(tenant, scopes=[Scope.COMMANDS_READ]))
    stranger = api_client(ALPHA, key_in(outsider))

    refused = reader.post(f"/api/v1/group-runs/{run.pk}/cancel/")
    unknown = stranger.post(f"/api/v1/group-runs/{run.pk}/cancel/")

    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "scope_missing")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (401, "api_key_unknown")
    assert runs_in(tenant) == [("clear_cache", "pending")]
