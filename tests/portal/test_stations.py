"""Stations: the list, a station's page (connectors, faults, sessions, the message log, recent operations) and
its remote operations, which reach the command service only with commands.add_command and valid input."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.commands.models import Command
from apps.stations.models import Fault, MessageLogEntry
from tests.portal.conftest import client_of
from tests.sessions.factories import ChargingSessionFactory, IdTokenFactory
from tests.stations.factories import StationFactory
from tests.tariffs.factories import ConnectorFactory


@pytest.fixture
def station(tenant):
    with schema_context(tenant.schema_name):
        station = StationFactory(identity="ALPHA-07", status="Available", protocol="ocpp1.6")
        ConnectorFactory(evse__station=station, status="Preparing")
        Fault.objects.create(
            station=station,
            evse_id=1,
            connector_id=1,
            fault_class="ground_fault",
            severity="critical",
            code="GroundFailure",
            opened_at=timezone.now(),
        )
        ChargingSessionFactory(station=station, id_token_uid="04A1B2C3D4", energy_wh=1500)
        now = timezone.now()
        MessageLogEntry.objects.bulk_create(
            MessageLogEntry(
                station=station,
                direction="in",
                message_type=2,
                message_id=str(n),
                action="Authorize",
                payload={"idTag": "04A1B2C3D4"},
                created_at=now - timedelta(seconds=n),
            )
            for n in range(30)
        )
    return station


@pytest.mark.django_db
def test_the_list_shows_the_brands_stations_only(station, tenant, outsider):
    with schema_context(outsider.schema_name):
        StationFactory(identity="BRAVO-01")
    response = client_of(tenant, Role.READ_ONLY).get("/portal/stations/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "ALPHA-07" in page and "BRAVO-01" not in page


@pytest.mark.django_db
def test_the_station_page_shows_connectors_faults_sessions_and_a_paginated_message_log(station, tenant):
    client = client_of(tenant, Role.OPERATOR)
    page = client.get(f"/portal/stations/{station.pk}/").content.decode()
    assert f'data-connector-status="{station.pk}:1:1"' in page and "Preparing" in page
    assert "GroundFailure" in page
    assert "1.500" in page  # the session's kWh
    assert "Page 1 of 2" in page
    second = client.get(f"/portal/stations/{station.pk}/?log_page=2")
    assert len(second.context["log_entries"]) == 5


@pytest.mark.django_db
def test_drivers_token_ids_are_masked_for_a_role_without_personal_data(station, tenant):
    technician = client_of(tenant, Role.TECHNICIAN).get(f"/portal/stations/{station.pk}/").content.decode()
    assert "04A1B2C3D4" not in technician
    assert "•••C3D4" in technician
    assert "04A1B2C3D4" in client_of(tenant, Role.OPERATOR).get(f"/portal/stations/{station.pk}/").content.decode()


@pytest.mark.django_db
def test_another_brands_station_is_not_found(station, outsider):
    assert client_of(outsider, Role.OPERATOR).get(f"/portal/stations/{station.pk}/").status_code == 404
    response = client_of(outsider, Role.OPERATOR).post(
        f"/portal/stations/{station.pk}/commands/", {"operation": "reset", "reset-operation": "reset"}
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_a_role_without_the_station_permission_is_refused(station, tenant, role_without):
    client = client_of(tenant, role_without("stations.view_station"))
    assert client.get("/portal/stations/").status_code == 403
    assert client.get(f"/portal/stations/{station.pk}/").status_code == 403


@pytest.mark.django_db
def test_read_only_staff_get_no_command_buttons_and_their_commands_are_refused(station, tenant):
    client = client_of(tenant, Role.READ_ONLY)
    page = client.get(f"/portal/stations/{station.pk}/").content.decode()
    assert "Remote operations" not in page
    response = client.post(
        f"/portal/stations/{station.pk}/commands/", {"operation": "reset", "reset-operation": "reset"}
    )
    assert response.status_code == 403
    with schema_context(tenant.schema_name):
        assert not Command.objects.exists()


@pytest.mark.django_db
def test_a_remote_start_without_a_token_is_refused_and_nothing_is_sent(station, tenant):
    response = client_of(tenant, Role.OPERATOR).post(
        f"/portal/stations/{station.pk}/commands/",
        {"operation": "remote_start", "remote_start-operation": "remote_start", "remote_start-evse_id": "1"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was sent" in page and "Required for this operation." in page
    with schema_context(tenant.schema_name):
        assert not Command.objects.exists()


@pytest.mark.django_db
def test_an_unknown_operation_is_refused_and_nothing_is_sent(station, tenant):
    response = client_of(tenant, Role.OPERATOR).post(
        f"/portal/stations/{station.pk}/commands/", {"operation": "self_destruct"}
    )
    assert response.status_code == 400
    assert "Choose one of the operations offered." in response.content.decode()
    with schema_context(tenant.schema_name):
        assert not Command.objects.exists()


@pytest.mark.django_db
def test_another_brands_token_cannot_be_chosen_for_a_remote_start(station, tenant, outsider):
    with schema_context(outsider.schema_name):
        foreign = IdTokenFactory(uid="BRAVO-CARD")
    response = client_of(tenant, Role.OPERATOR).post(
        f"/portal/stations/{station.pk}/commands/",
        {"operation": "remote_start", "remote_start-operation": "remote_start", "remote_start-id_token": foreign.pk},
    )
    assert response.status_code == 400
    with schema_context(tenant.schema_name):
        assert not Command.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_command_to_an_offline_station_shows_its_outcome(tenant):
    with schema_context(tenant.schema_name):
        station = StationFactory(identity="ALPHA-OFF", is_online=False)
    client = client_of(tenant, Role.TECHNICIAN)
    response = client.post(
        f"/portal/stations/{station.pk}/commands/",
        {"operation": "reset", "reset-operation": "reset", "reset-kind": "hard"},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Reset: Station offline." in page and "The station is not connected." in page
    with schema_context(tenant.schema_name):
        command = Command.objects.get()
    assert (command.operation, command.params, command.status) == ("reset", {"kind": "hard"}, "offline")


@pytest.mark.django_db
def test_a_station_out_of_the_users_scope_is_neither_listed_nor_found(tenant):
    with schema_context(tenant.schema_name):
        hidden, shown = StationFactory(identity="ALPHA-HIDDEN"), StationFactory(identity="ALPHA-SHOWN")
    client = client_of(tenant, Role.TECHNICIAN, scoped_to=[shown.location])
    page = client.get("/portal/stations/").content.decode()
    assert "ALPHA-SHOWN" in page and "ALPHA-HIDDEN" not in page
    assert client.get(f"/portal/stations/{hidden.pk}/").status_code == 404
    response = client.post(
        f"/portal/stations/{hidden.pk}/commands/", {"operation": "reset", "reset-operation": "reset"}
    )
    assert response.status_code == 404
    assert client.get(f"/portal/stations/{shown.pk}/").status_code == 200
    with schema_context(tenant.schema_name):
        assert not Command.objects.exists()
