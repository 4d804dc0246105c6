"""The operator admin of the network: live station list, approvals, station passwords, a searchable message log."""

from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.stations.models import Station
from apps.stations.services import MessageLogInput, StationPasswordHasher, connector_status_report, message_log_write
from tests.accounts.factories import PASSWORD, UserFactory
from tests.stations.factories import StationFactory


def _client(tenant, role=Role.OPERATOR) -> Client:
    with schema_context(tenant.schema_name):
        user = UserFactory(role=role)
    client = Client(HTTP_HOST="alpha.localhost")
    assert client.post("/admin/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def test_station_list_shows_connection_and_connector_status_of_this_brand_only(tenant, outsider):
    with schema_context(tenant.schema_name):
        station = StationFactory(identity="CP-ALPHA", is_online=True)
        connector_status_report(station_id=station.pk, evse_id=1, connector_id=1, status="Charging")
    with schema_context(outsider.schema_name):
        StationFactory(identity="CP-BRAVO")

    page = _client(tenant).get("/admin/stations/station/").content.decode()

    assert "CP-ALPHA" in page and "CP-BRAVO" not in page
    assert "1:Charging" in page
    assert "stations/admin_live.js" in page


def test_operator_accepts_pending_stations_and_sets_a_password(tenant):
    with schema_context(tenant.schema_name):
        pending = StationFactory(registration_status=Station.Registration.PENDING)
    client = _client(tenant)

    client.post(
        "/admin/stations/station/",
        {"action": "accept", "_selected_action": [pending.pk]},
    )
    response = client.post(
        f"/admin/stations/station/{pending.pk}/change/",
        {
            "identity": pending.identity,
            "security_profile": 2,
            "registration_status": "accepted",
            "new_password": "a-new-station-password",
            "evses-TOTAL_FORMS": 0,
            "evses-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    with schema_context(tenant.schema_name):
        pending.refresh_from_db()
        assert (pending.registration_status, pending.security_profile) == ("accepted", 2)
        assert StationPasswordHasher().verify("a-new-station-password", pending.password_hash)


def test_message_log_is_searchable_and_read_only(tenant):
    with schema_context(tenant.schema_name):
        station = StationFactory()
        now = timezone.now()
        message_log_write(
            entries=[
                MessageLogInput(station.pk, "in", 2, "boot-77", "BootNotification", {}, "", "", now),
                MessageLogInput(station.pk, "in", 2, "hb-78", "Heartbeat", {}, "", "", now),
            ]
        )
    client = _client(tenant)

    found = client.get("/admin/stations/messagelogentry/", {"q": "boot-77"}).content.decode()

    assert "boot-77" in found and "hb-78" not in found
    assert client.get("/admin/stations/messagelogentry/add/").status_code == 403


def test_a_read_only_user_cannot_change_stations(tenant):
    with schema_context(tenant.schema_name):
        station = StationFactory()
    client = _client(tenant, role=Role.READ_ONLY)

    assert client.get("/admin/stations/station/").status_code == 200
    client.post("/admin/stations/station/", {"action": "reject", "_selected_action": [station.pk]})

    with schema_context(tenant.schema_name):
        station.refresh_from_db()
        assert station.registration_status == "accepted"
