"""The sessions module: our sessions of a partner's drivers pushed to the partner as they start, run and end (CPO),
listed for the partner, charging preferences; and a CPO partner's sessions of our drivers received (eMSP)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.billing.models import Cdr
from apps.billing.services.cdrs import cdr_credit
from apps.roaming.exceptions import RoamingError
from apps.roaming.models import OutboxMessage, PartnerSession, PartnerToken, RoamingSession
from apps.roaming.modules.sessions import session_changed_push, session_store
from apps.roaming.pull import partner_pull
from apps.sessions.metering import MeterValue, SampledValue
from apps.sessions.models import ChargingSession
from apps.sessions.services import meter_values_record, session_start, session_stop
from tests.billing.factories import BILLING_ELEMENTS, T0, session_with_readings
from tests.roaming.conftest import ALPHA, TOKEN_C, b64, ocpi, partner_as, roles_set
from tests.roaming.factories import PartnerFactory
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import ConnectorFactory, TariffAssignmentFactory

SESSIONS = "/ocpi/2.2.1/cpo/sessions"


@pytest.fixture
def station(alpha):
    with schema_context(alpha.schema_name):
        connector = ConnectorFactory(evse__station=StationFactory(location=LocationFactory()))
        TariffAssignmentFactory(location=connector.evse.station.location, tariff__elements=BILLING_ELEMENTS)
        return connector.evse.station


@pytest.fixture
def roaming(alpha, partner):
    """Alpha is a CPO with Bravo registered; Bravo's card BRV-CARD-1 is known (as the tokens module stores it)."""
    with schema_context(alpha.schema_name):
        PartnerToken.objects.create(
            partner=partner,
            country_code="DE",
            party_id="BRV",
            object_id="BRV-CARD-1",
            type="RFID",
            contract_id="DE-BRV-C00001-1",
            authorization_reference="AUTH-77",
            data={"uid": "BRV-CARD-1"},
            last_updated=timezone.now(),
        )
    return partner


def drive(station, uid: str, capture, *, updates: int = 1) -> ChargingSession:
    """Start (1 kWh on the register), `updates` meter values, stop after 90 minutes at 12 kWh, as a station does."""
    with capture(execute=True):
        started = session_start(
            station_id=station.pk,
            evse_id=1,
            connector_id=1,
            id_token_uid=uid,
            meter_start_wh=Decimal(1000),
            started_at=T0,
        )
    for index in range(updates):
        with capture(execute=True):
            meter_values_record(
                station_id=station.pk,
                evse_id=1,
                transaction_id=started.session.transaction_id,
                meter_values=[
                    MeterValue(
                        timestamp=T0 + timedelta(minutes=30 + index),
                        sampled_values=[SampledValue(Decimal(6500 + index))],
                    )
                ],
            )
    with capture(execute=True):
        session_stop(
            station_id=station.pk,
            transaction_id=started.session.transaction_id,
            meter_stop_wh=Decimal(12000),
            stopped_at=T0 + timedelta(minutes=90),
        )
    return ChargingSession.objects.get(pk=started.session.pk)


def test_a_roaming_session_is_pushed_from_start_to_its_credit_cdr(
    alpha, roaming, station, partner_server, settings, django_capture_on_commit_callbacks
):
    settings.ROAMING_SESSION_PATCH_SECONDS = 0
    partner_server.answer("POST", "/ocpi/2.2.1/cdrs", headers={"Location": "http://bravo.test/cdrs/9"})
    with schema_context(alpha.schema_name):
        session = drive(station, "brv-card-1", django_capture_on_commit_callbacks)  # uids are case-insensitive
        cdr = Cdr.objects.get(session=session)
        with django_capture_on_commit_callbacks(execute=True):
            credit = cdr_credit(cdr=cdr, reason="Wrong tariff")
        roaming_session = RoamingSession.objects.get(session=session)
        location_header = OutboxMessage.objects.filter(module="cdrs").first().response_headers

    session_path = f"/ocpi/2.2.1/sessions/NL/ALP/{session.pk}"
    assert [(r.method, r.path) for r in partner_server.requests] == [
        ("PUT", session_path),
        ("PATCH", session_path),
        ("PATCH", session_path),
        ("POST", "/ocpi/2.2.1/cdrs"),
        ("POST", "/ocpi/2.2.1/cdrs"),
    ]
    put, running, ended, posted, credited = (r.body for r in partner_server.requests)
    cdr_token = {
        "country_code": "DE",
        "party_id": "BRV",
        "uid": "BRV-CARD-1",
        "type": "RFID",
        "contract_id": "DE-BRV-C00001-1",
    }
    assert roaming_session.partner_id == roaming.pk and roaming_session.cdr_token == cdr_token
    assert put | {"last_updated": None} == {
        "country_code": "NL",
        "party_id": "ALP",
        "id": str(session.pk),
        "start_date_time": "2026-03-02T09:00:00Z",
        "kwh": 0,
        "cdr_token": cdr_token,
        "auth_method": "AUTH_REQUEST",
        "authorization_reference": "AUTH-77",
        "location_id": str(station.location_id),
        "evse_uid": f"{station.identity}*1",
        "connector_id": "1",
        "currency": "EUR",
        "status": "ACTIVE",
        "last_updated": None,
    } | {key: put[key] for key in ("total_cost", "charging_periods", "meter_id") if key in put}
    assert running["status"] == "ACTIVE" and running["kwh"] == 5.5 and "total_cost" in running
    # 11 kWh × 0.35 + 0.50 fee = 4.35 excl., 5.26 incl. 21 % VAT (as billing rates it).
    assert ended["status"] == "COMPLETED" and ended["end_date_time"] == "2026-03-02T10:30:00Z"
    assert (ended["kwh"], ended["total_cost"]) == (11, {"excl_vat": 4.35, "incl_vat": 5.26})
    assert ended["last_updated"].endswith("Z")
    assert (posted["id"], posted["session_id"], posted["cdr_token"]) == (cdr.cdr_id, str(session.pk), cdr_token)
    assert (posted["country_code"], posted["party_id"], posted["total_cost"]) == (
        "NL",
        "ALP",
        {"excl_vat": 4.35, "incl_vat": 5.26},
    )
    assert (credited["id"], credited["credit"], credited["credit_reference_id"]) == (credit.cdr_id, True, cdr.cdr_id)
    assert credited["total_cost"] == {"excl_vat": -4.35, "incl_vat": -5.26}
    assert location_header["Location"] == "http://bravo.test/cdrs/9"


def test_updates_are_patched_at_most_once_per_interval(
    alpha, roaming, station, partner_server, settings, django_capture_on_commit_callbacks
):
    settings.ROAMING_SESSION_PATCH_SECONDS = 30
    with schema_context(alpha.schema_name):
        drive(station, "BRV-CARD-1", django_capture_on_commit_callbacks, updates=3)

    # The updates come within 30 s of the PUT: none goes; the end always does.
    sessions = [r for r in partner_server.requests if "/sessions/" in r.path]
    assert [(r.method, r.body.get("status")) for r in sessions] == [("PUT", "ACTIVE"), ("PATCH", "COMPLETED")]


def test_a_session_of_our_own_driver_is_not_pushed(
    alpha, roaming, station, partner_server, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        session = drive(station, "CARD-9", django_capture_on_commit_callbacks)
        assert not RoamingSession.objects.filter(session=session).exists()
        assert Cdr.objects.filter(session=session).exists()
    assert partner_server.requests == []


def test_a_second_started_event_does_not_create_or_put_again(alpha, roaming, station, partner_server, settings):
    settings.ROAMING_SESSION_PATCH_SECONDS = 0
    with schema_context(alpha.schema_name):
        session = session_with_readings(station=station, status=ChargingSession.Status.ACTIVE)
        ChargingSession.objects.filter(pk=session.pk).update(id_token_uid="BRV-CARD-1", stopped_at=None)
        data = {"session_id": session.pk}
        first = session_changed_push(station_id=station.pk, at="", data=data)
        again = session_changed_push(station_id=station.pk, at="", data=data)
        assert first.method == "PUT" and again.method == "PATCH"
        assert RoamingSession.objects.filter(session=session).count() == 1


def test_a_session_first_seen_ended_is_put_completed(alpha, roaming, station, partner_server):
    with schema_context(alpha.schema_name):
        session = session_with_readings(station=station)
        ChargingSession.objects.filter(pk=session.pk).update(id_token_uid="BRV-CARD-1")
        message = session_changed_push(station_id=station.pk, at="", data={"session_id": session.pk})
    assert message.method == "PUT" and message.body["status"] == "COMPLETED"
    assert message.body["end_date_time"] == "2026-03-02T10:30:00Z"


def test_a_started_by_command_session_says_command(alpha, roaming, station, partner_server):
    with schema_context(alpha.schema_name):
        session = session_with_readings(station=station, status=ChargingSession.Status.ACTIVE)
        ChargingSession.objects.filter(pk=session.pk).update(id_token_uid="BRV-CARD-1", remote_start_id=5)
        message = session_changed_push(station_id=station.pk, at="", data={"session_id": session.pk})
    assert message.body["auth_method"] == "COMMAND"


def test_no_push_to_a_partner_without_a_sessions_receiver(alpha, roaming, station, partner_server):
    with schema_context(alpha.schema_name):
        roaming.endpoints = [e for e in roaming.endpoints if e["identifier"] != "sessions"]
        roaming.save()
        session = session_with_readings(station=station, status=ChargingSession.Status.ACTIVE)
        ChargingSession.objects.filter(pk=session.pk).update(id_token_uid="BRV-CARD-1")
        assert session_changed_push(station_id=station.pk, at="", data={"session_id": session.pk}) is None
        # Still a roaming session: its CDR goes to the partner.
        assert RoamingSession.objects.filter(session=session, partner=roaming).exists()


# --- the sender: GET cpo/sessions ----------------------------------------------------------------------------------


def roaming_session(partner, *, updated_at: datetime | None = None, **kwargs) -> RoamingSession:
    session = session_with_readings(**kwargs)
    if updated_at:
        ChargingSession.objects.filter(pk=session.pk).update(updated_at=updated_at)
    return RoamingSession.objects.create(
        session=session,
        partner=partner,
        cdr_token={"country_code": "DE", "party_id": "BRV", "uid": "U1", "type": "RFID", "contract_id": "C1"},
    )


@pytest.fixture
def listed(alpha, partner):
    """Three sessions of Bravo's drivers updated on 1, 2 and 3 January, and one of another partner's."""
    with schema_context(alpha.schema_name):
        ours = [roaming_session(partner, updated_at=datetime(2026, 1, day, tzinfo=UTC)).session_id for day in (1, 2, 3)]
        other = PartnerFactory(name="Charlie")
        roaming_session(other)
    return ours


def test_the_list_holds_the_calling_partners_sessions_only_and_pages(partner, listed):
    first = ocpi("GET", SESSIONS, limit=2)

    assert first.status_code == 200 and first.json()["status_code"] == 1000
    assert [s["id"] for s in first.json()["data"]] == [str(pk) for pk in listed[:2]]
    assert first["X-Total-Count"] == "3" and first["X-Limit"] == "2" and "offset=2" in first["Link"]
    assert first["OCPI-from-party-id"] == "ALP" and first["OCPI-to-party-id"] == "BRV"
    second = ocpi("GET", SESSIONS, offset=2, limit=2)
    assert [s["id"] for s in second.json()["data"]] == [str(listed[2])] and "Link" not in second
    session = second.json()["data"][0]
    assert (session["status"], session["kwh"], session["end_date_time"]) == ("COMPLETED", 11, "2026-03-02T10:30:00Z")
    assert session["cdr_token"]["uid"] == "U1" and session["currency"] == "EUR" and "total_cost" in session


def test_the_list_filters_on_the_last_update(partner, listed):
    response = ocpi("GET", SESSIONS, date_from="2026-01-02T00:00:00Z", date_to="2026-01-03T00:00:00Z")

    assert [s["id"] for s in response.json()["data"]] == [str(listed[1])]


def test_the_list_refuses_bad_parameters_and_unknown_tokens(partner, listed):
    assert ocpi("GET", SESSIONS, limit="x").json()["status_code"] == 2001
    refused = ocpi("GET", SESSIONS, token="who-knows")
    assert refused.status_code == 401 and refused.json()["status_code"] == 2000


def test_an_emsp_only_brand_has_no_cpo_sessions(alpha, partner):
    roles_set(alpha, ["EMSP"])
    response = ocpi("GET", SESSIONS)
    assert response.status_code == 404 and response.json()["status_code"] == 2000


# --- charging preferences -------------------------------------------------------------------------------------------

PREFERENCES = {"profile_type": "FAST", "departure_time": "2026-03-02T17:00:00Z", "energy_need": 20}


def preferences_path(session_id) -> str:
    return f"{SESSIONS}/{session_id}/charging_preferences"


def test_charging_preferences_of_a_running_session_are_accepted_and_kept(alpha, partner):
    with schema_context(alpha.schema_name):
        running = roaming_session(partner, status=ChargingSession.Status.ACTIVE)

    response = ocpi("PUT", preferences_path(running.session_id), PREFERENCES)

    assert response.status_code == 200 and response.json()["data"] == "ACCEPTED"
    with schema_context(alpha.schema_name):
        running.refresh_from_db()
    assert running.charging_preferences == PREFERENCES


def test_charging_preferences_of_an_ended_session_are_not_possible(alpha, partner):
    with schema_context(alpha.schema_name):
        ended = roaming_session(partner)

    response = ocpi("PUT", preferences_path(ended.session_id), PREFERENCES)

    assert response.json()["data"] == "NOT_POSSIBLE"


def test_charging_preferences_refusals(alpha, partner):
    with schema_context(alpha.schema_name):
        running = roaming_session(partner, status=ChargingSession.Status.ACTIVE)
        others = roaming_session(PartnerFactory(name="Charlie"), status=ChargingSession.Status.ACTIVE)

    for unknown in ("999999", "abc", str(others.session_id)):
        response = ocpi("PUT", preferences_path(unknown), PREFERENCES)
        assert (response.status_code, response.json()["status_code"]) == (404, 2000)
    invalid = ocpi("PUT", preferences_path(running.session_id), {"profile_type": "TURBO"})
    assert invalid.status_code == 200 and invalid.json()["status_code"] == 2001
    assert "profile_type" in invalid.json()["status_message"]
    broken = ocpi("PUT", preferences_path(running.session_id), {"profile_type": "FAST", "departure_time": "soon"})
    assert "departure_time" in broken.json()["status_message"]
    assert ocpi("GET", preferences_path(running.session_id)).status_code == 405


def test_charging_preferences_invalid_json_is_400(alpha, partner):
    with schema_context(alpha.schema_name):
        running = roaming_session(partner, status=ChargingSession.Status.ACTIVE)
    client = Client(HTTP_HOST=ALPHA, HTTP_AUTHORIZATION=f"Token {b64(TOKEN_C)}")
    response = client.generic("PUT", preferences_path(running.session_id), "{nope", content_type="application/json")
    assert response.status_code == 400 and response.json()["status_code"] == 2001


# --- eMSP: receiving a CPO partner's sessions -----------------------------------------------------------------------

RECEIVED = "/ocpi/2.2.1/emsp/sessions/DE/BRV/S-1"


def their_session(**changes) -> dict:
    session = {
        "country_code": "DE",
        "party_id": "BRV",
        "id": "S-1",
        "start_date_time": "2026-03-02T09:00:00Z",
        "kwh": 0,
        "cdr_token": {"country_code": "NL", "party_id": "ALP", "uid": "ALP-1", "type": "RFID", "contract_id": "C-1"},
        "auth_method": "AUTH_REQUEST",
        "location_id": "LOC-1",
        "evse_uid": "EVSE-1",
        "connector_id": "1",
        "currency": "EUR",
        "status": "ACTIVE",
        "last_updated": "2026-03-02T09:00:05Z",
    }
    session.update(changes)
    return {key: value for key, value in session.items() if value is not None}


@pytest.fixture
def cpo_partner(alpha, partner):
    """Alpha as an eMSP; Bravo a CPO (DE*BRV)."""
    roles_set(alpha, ["EMSP"])
    with schema_context(alpha.schema_name):
        return partner_as(partner, role="CPO", country_code="DE", party_id="BRV", endpoints_role="SENDER")


def test_a_session_is_put_patched_and_read_back(alpha, cpo_partner):
    put = ocpi("PUT", RECEIVED, their_session())
    assert put.status_code == 200 and put.json()["status_code"] == 1000

    period = {"start_date_time": "2026-03-02T09:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 2.5}]}
    patch = {"kwh": 2.5, "charging_periods": [period], "last_updated": "2026-03-02T09:15:00Z"}
    assert ocpi("PATCH", RECEIVED, patch).json()["status_code"] == 1000
    second = {"kwh": 7.25, "status": "COMPLETED", "end_date_time": "2026-03-02T10:00:00Z"}
    second |= {"total_cost": {"excl_vat": 2.99, "incl_vat": 3.62}, "charging_periods": [period]}
    assert ocpi("PATCH", RECEIVED, second | {"last_updated": "2026-03-02T10:00:01Z"}).json()["status_code"] == 1000

    got = ocpi("GET", RECEIVED).json()["data"]
    assert (got["kwh"], got["status"], got["location_id"]) == (7.25, "COMPLETED", "LOC-1")
    assert got["charging_periods"] == [period, period]  # a PATCH's periods are added
    with schema_context(alpha.schema_name):
        stored = PartnerSession.objects.get(partner=cpo_partner, object_id="S-1")
    assert (stored.status, stored.kwh, stored.currency, stored.total_cost_excl_vat, stored.token_uid) == (
        "COMPLETED",
        Decimal("7.25"),
        "EUR",
        Decimal("2.99"),
        "ALP-1",
    )
    assert (stored.start_date_time, stored.end_date_time) == (T0, datetime(2026, 3, 2, 10, tzinfo=UTC))
    assert stored.last_updated == datetime(2026, 3, 2, 10, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (their_session(kwh=None), "kwh"),
        (their_session(cdr_token=None), "cdr_token"),
        (their_session(status="CHARGING"), "status"),
        (their_session(start_date_time="yesterday"), "start_date_time"),
        (their_session(kwh="lots"), "kwh"),
        (their_session(auth_method="MAGIC"), "auth_method"),
        (their_session(total_cost={"incl_vat": 1}), "total_cost"),
        (their_session(id="S-2"), "id"),
    ],
)
def test_an_invalid_session_is_2001_naming_the_field(cpo_partner, body, field):
    response = ocpi("PUT", RECEIVED, body)

    assert response.status_code == 200 and response.json()["status_code"] == 2001
    assert field in response.json()["status_message"]


def test_a_patch_needs_last_updated_and_a_known_session(cpo_partner):
    unknown = ocpi("PATCH", RECEIVED, {"kwh": 1, "last_updated": "2026-03-02T09:15:00Z"})
    assert (unknown.status_code, unknown.json()["status_code"]) == (404, 2000)
    ocpi("PUT", RECEIVED, their_session())
    response = ocpi("PATCH", RECEIVED, {"kwh": 1})
    assert response.json()["status_code"] == 2001 and "last_updated" in response.json()["status_message"]


def test_another_partys_session_is_refused(cpo_partner):
    response = ocpi("PUT", "/ocpi/2.2.1/emsp/sessions/FR/XYZ/S-1", their_session(country_code="FR", party_id="XYZ"))
    assert response.json()["status_code"] == 2001 and "party" in response.json()["status_message"]
    unknown = ocpi("GET", "/ocpi/2.2.1/emsp/sessions/DE/BRV/S-404")
    assert (unknown.status_code, unknown.json()["status_code"]) == (404, 2000)


def test_a_cpo_only_brand_has_no_emsp_sessions(partner):
    response = ocpi("PUT", RECEIVED, their_session())
    assert response.status_code == 404 and response.json()["status_code"] == 2000


def test_sessions_are_pulled_and_stored(alpha, cpo_partner, partner_server):
    partner_server.answer("GET", "/ocpi/2.2.1/sessions", [their_session(), their_session(id="S-2", kwh="bad")])
    with schema_context(alpha.schema_name):
        result = partner_pull(partner=cpo_partner, module="sessions")
        assert result.stored == 1 and result.refused == ["S-2: kwh must be a number"]
        assert PartnerSession.objects.get().object_id == "S-1"
        with pytest.raises(RoamingError, match="party"):
            session_store(partner=cpo_partner, data=their_session(party_id="XYZ"))


def test_the_receiver_refuses_invalid_json_and_unknown_tokens(cpo_partner):
    client = Client(HTTP_HOST=ALPHA, HTTP_AUTHORIZATION=f"Token {b64(TOKEN_C)}")
    broken = client.generic("PUT", RECEIVED, "[1, 2", content_type="application/json")
    assert broken.status_code == 400 and broken.json()["status_code"] == 2001
    refused = ocpi("PUT", RECEIVED, their_session(), token="nobody")
    assert refused.status_code == 401 and refused.json()["status_code"] == 2000
    assert ocpi("DELETE", RECEIVED).status_code == 405


def test_a_new_put_of_the_session_keeps_the_active_charging_profile_the_cpo_reported(alpha, cpo_partner):
    ocpi("PUT", RECEIVED, their_session())
    profile = {
        "start_date_time": "2026-03-02T09:05:00Z",
        "charging_profile": {
            "charging_rate_unit": "W",
            "charging_profile_period": [{"start_period": 0, "limit": 7400}],
        },
    }
    assert ocpi("PUT", "/ocpi/2.2.1/emsp/chargingprofiles/S-1", profile).json()["status_code"] == 1000

    assert ocpi("PUT", RECEIVED, their_session(kwh=3.5)).json()["status_code"] == 1000

    with schema_context(alpha.schema_name):
        stored = PartnerSession.objects.get(partner=cpo_partner, object_id="S-1")
    assert stored.kwh == Decimal("3.5") and stored.data["active_charging_profile"] == profile
