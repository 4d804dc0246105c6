"""Operators manage station groups and run operations on them from the admin, and follow the runs' progress.

Stations that are not connected answer `offline` at once, so a run needs no server here: the Django test client
drives the admin. Without a broker (the test settings) a single-wave run is sent in the request.
"""

import re

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.commands.models import Command
from apps.groups.models import GroupRun, StationGroup
from apps.groups.services import group_run_start
from apps.groups.tasks import group_run_advance
from tests.accounts.factories import PASSWORD, UserFactory
from tests.groups.factories import StationGroupFactory
from tests.stations.factories import LocationFactory, StationFactory

GROUPS = "/admin/groups/stationgroup/"
RUNS = "/admin/groups/grouprun/"


def login(tenant, role=Role.OPERATOR) -> Client:
    with schema_context(tenant.schema_name):
        user = UserFactory(role=role)
    client = Client(HTTP_HOST="alpha.localhost")
    assert client.post("/admin/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def depot_group(tenant, count: int = 3) -> StationGroup:
    with schema_context(tenant.schema_name):
        depot = LocationFactory(name="Depot")
        for n in range(1, count + 1):
            StationFactory(identity=f"CP-DEPOT-{n}", location=depot, protocol="ocpp1.6")
        return StationGroupFactory(name="Depot chargers", kind=StationGroup.Kind.LOCATION, locations=[depot])


def run_action(client, group, **form) -> object:
    data = {"action": "run_operation", "_selected_action": [group.pk]}
    if form:
        data.update({"apply": "1", "wave_size": 0, "wave_interval_s": 300, "stop_on_failure_rate": "", **form})
    return client.post(GROUPS, data)


def test_the_group_list_shows_station_counts_of_this_brand_only(tenant, outsider):
    depot_group(tenant)
    with schema_context(tenant.schema_name):
        StationGroupFactory(name="Picked", stations=[StationFactory()])
    with schema_context(outsider.schema_name):
        StationGroupFactory(name="Bravo group", stations=[StationFactory()])
    client = login(tenant)

    page = text_of(client.get(GROUPS))
    custom_only = text_of(client.get(GROUPS, {"kind__exact": "custom"}))

    assert "Depot chargers Every station of the chosen locations 3 Depot" in page
    assert "Picked A list of stations 1" in page
    assert "Bravo group" not in page
    assert "Picked" in custom_only and "Depot chargers" not in custom_only


def test_an_operator_creates_groups_and_each_kind_uses_its_own_list(tenant):
    with schema_context(tenant.schema_name):
        depot, station = LocationFactory(), StationFactory()
    client = login(tenant)

    form = client.get(f"{GROUPS}add/").content.decode()
    mixed = client.post(
        f"{GROUPS}add/", {"name": "Mixed", "kind": "location", "locations": [depot.pk], "stations": [station.pk]}
    )
    created = client.post(f"{GROUPS}add/", {"name": "Sites", "kind": "location", "locations": [depot.pk]})

    assert "admin-autocomplete" in form and "SelectFilter" in form  # stations by autocomplete, locations in a box
    assert "A location group has every station of its locations: leave this empty." in text_of(mixed)
    assert created.status_code == 302
    with schema_context(tenant.schema_name):
        assert list(StationGroup.objects.values_list("name", "kind")) == [("Sites", "location")]


def test_the_run_form_refuses_a_bad_field_and_creates_nothing(tenant):
    group = depot_group(tenant)
    client = login(tenant)

    form = text_of(run_action(client, group))
    wrong = text_of(run_action(client, group, operation="unlock_connector", params='{"evse_id": 0}'))
    not_json = text_of(run_action(client, group, operation="reset", params="{kind: hard}"))

    assert "Run an operation on Depot chargers" in form and "CP-DEPOT-1" in form and "3 stations now" in form
    assert "evse_id: Ensure this value is greater than or equal to 1." in wrong
    assert "Not JSON" in not_json
    with schema_context(tenant.schema_name):
        assert not GroupRun.objects.exists() and not Command.objects.exists()


def test_without_a_broker_a_run_in_several_waves_is_refused_naming_the_wave_size(tenant):
    group = depot_group(tenant)

    page = text_of(run_action(login(tenant), group, operation="clear_cache", params="", wave_size=2))

    assert "No Celery worker here (no broker configured): only a run in one wave can be sent" in page
    with schema_context(tenant.schema_name):
        assert not GroupRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_started_from_the_admin_completes_and_the_runs_list_shows_its_progress(tenant):
    group = depot_group(tenant)
    client = login(tenant)

    started = run_action(client, group, operation="reset", params='{"kind": "hard"}')

    with schema_context(tenant.schema_name):
        run = GroupRun.objects.get()
        assert (run.status, run.source, run.requested_by.role) == ("completed", "admin", "operator")
    assert started.status_code == 302 and started.url == f"{RUNS}{run.pk}/change/"
    detail = text_of(client.get(started.url))
    listing = text_of(client.get(RUNS))
    assert f"Reset on Depot chargers (#{run.pk}): Completed, 3/3 done: 3 offline." in detail  # the message
    assert "CP-DEPOT-2 1 Station offline" in detail  # each station: wave, outcome
    assert "The station is not connected." in detail
    assert f"reset on Depot chargers (#{run.pk}) Completed 3/3 done: 3 offline 1/1" in listing


@pytest.mark.django_db(transaction=True)
def test_with_a_broker_a_rollout_in_waves_is_queued(tenant, monkeypatch):
    group = depot_group(tenant)
    queued = []
    monkeypatch.setattr(group_run_advance, "apply_async", lambda args, **options: queued.append(args))
    conf = group_run_advance.app.conf
    eager, conf.task_always_eager = conf.task_always_eager, False
    try:
        page = run_action(login(tenant), group, operation="clear_cache", wave_size=2, wave_interval_s=60)
    finally:
        conf.task_always_eager = eager

    with schema_context(tenant.schema_name):
        run = GroupRun.objects.get()
        assert (run.status, run.waves) == ("pending", 2) and not Command.objects.exists()
    assert queued == [(tenant.schema_name, run.pk, 1)]
    assert page.status_code == 302


def test_cancel_stops_a_running_run_and_leaves_finished_ones(tenant):
    group = depot_group(tenant)
    with schema_context(tenant.schema_name):
        waiting = group_run_start(group=group, operation="clear_cache", wave_size=1)
        done = group_run_start(group=group, operation="clear_cache")
        GroupRun.objects.filter(pk=done.pk).update(status="completed")
    client = login(tenant)

    page = client.post(RUNS, {"action": "cancel_runs", "_selected_action": [waiting.pk, done.pk]}, follow=True)

    assert "1 run(s) cancelled. 1 had already finished." in text_of(page)
    with schema_context(tenant.schema_name):
        assert dict(GroupRun.objects.values_list("pk", "status")) == {waiting.pk: "cancelled", done.pk: "completed"}


def test_a_read_only_user_sees_runs_but_cannot_start_or_cancel_them(tenant):
    group = depot_group(tenant)
    with schema_context(tenant.schema_name):
        run = group_run_start(group=group, operation="clear_cache")
    client = login(tenant, Role.READ_ONLY)

    groups_page = client.get(GROUPS).content.decode()
    runs_page = client.get(RUNS).content.decode()
    refused = run_action(client, group, operation="clear_cache")
    client.post(RUNS, {"action": "cancel_runs", "_selected_action": [run.pk]})

    assert "run_operation" not in groups_page and "cancel_runs" not in runs_page
    assert "0/3 done" in runs_page
    assert "Start the run" not in refused.content.decode()  # no such action for this user: nothing happens
    with schema_context(tenant.schema_name):
        assert list(GroupRun.objects.values_list("status", flat=True)) == ["pending"]
