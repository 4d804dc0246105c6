"""Message routing (apps.roaming.transport, client, outbox): the OCPI-from/to headers of functional modules read on
requests and mirrored on answers, and written on our own requests, to a direct partner and through a hub."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.roaming.models import PartnerLocation, PartnerToken
from apps.roaming.modules.commands import command_to_partner_send
from apps.sessions.services import id_token_authorize
from apps.stations.models import Connector, Evse
from apps.stations.services import connector_status_report
from tests.roaming.conftest import ocpi, roles_set
from tests.roaming.modules.test_sessions import drive
from tests.roaming.modules.test_tokens import their_token
from tests.stations.factories import LocationFactory, StationFactory

HUB = {"role": "HUB", "country_code": "DE", "party_id": "HUB", "business_details": {"name": "Hub"}}
# A party behind the hub, as its ClientInfo is kept (apps.roaming.modules.hubclientinfo).
BEHIND = {"role": "EMSP", "country_code": "FR", "party_id": "XYZ", "status": "CONNECTED"}


def routing(sender=("FR", "XYZ"), to=("NL", "ALP")) -> dict:
    headers = {}
    if sender:
        headers |= {"OCPI-from-country-code": sender[0], "OCPI-from-party-id": sender[1]}
    if to:
        headers |= {"OCPI-to-country-code": to[0], "OCPI-to-party-id": to[1]}
    return headers


def sent_routing(recorded) -> tuple:
    """(from, to) of a request we sent, as "CC*PID" (None when a header pair is missing)."""
    headers = {name.lower(): value for name, value in recorded.headers.items()}

    def party(direction):
        country, party_id = headers.get(f"ocpi-{direction}-country-code"), headers.get(f"ocpi-{direction}-party-id")
        return f"{country}*{party_id}" if country and party_id else None

    return party("from"), party("to")


def behind_token(hub, uid: str) -> PartnerToken:
    """A card of FR*XYZ, the eMSP behind the hub, as the tokens module keeps it (not authorized lately)."""
    return PartnerToken.objects.create(
        partner=hub,
        country_code="FR",
        party_id="XYZ",
        object_id=uid,
        type="RFID",
        contract_id=f"FR-XYZ-C{uid[-5:]}",
        data={"uid": uid},
        last_updated=timezone.now() - timedelta(days=1),
    )


@pytest.fixture
def hub(alpha, partner):
    """Bravo is a hub (DE*HUB) connecting the eMSP FR*XYZ; its endpoints are RECEIVER interfaces."""
    with schema_context(alpha.schema_name):
        partner.roles = [HUB, BEHIND]
        partner.save()
    return partner


@pytest.fixture
def station(alpha):
    with schema_context(alpha.schema_name):
        location = LocationFactory(latitude="52.090000", longitude="5.120000")
        station = StationFactory(location=location, protocol="ocpp1.6", is_online=True)
        Connector.objects.create(evse=Evse.objects.create(station=station, evse_id=1), connector_id=1)
        return station


# --- requests to us -----------------------------------------------------------------------------------------------


def test_a_request_from_a_party_behind_a_hub_is_answered_to_that_party(hub):
    response = ocpi("GET", "/ocpi/2.2.1/cpo/locations", headers=routing())

    assert response.json()["status_code"] == 1000
    assert (response["OCPI-from-country-code"], response["OCPI-from-party-id"]) == ("NL", "ALP")
    assert (response["OCPI-to-country-code"], response["OCPI-to-party-id"]) == ("FR", "XYZ")


def test_without_routing_headers_the_answer_goes_to_the_partners_own_party(hub):
    response = ocpi("GET", "/ocpi/2.2.1/cpo/locations")

    assert response.json()["status_code"] == 1000
    assert (response["OCPI-to-country-code"], response["OCPI-to-party-id"]) == ("DE", "HUB")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (routing(to=("NL", "OTH")), "OCPI-to-* names NL*OTH, not this platform's party NL*ALP"),
        (routing(sender=("IT", "ABC")), "OCPI-from-* names IT*ABC, which is not one of your parties"),
    ],
)
def test_a_message_for_another_party_or_from_a_stranger_is_2001_and_changes_nothing(alpha, hub, headers, message):
    path = "/ocpi/2.2.1/cpo/tokens/FR/XYZ/CARD-9"
    body = their_token("CARD-9", country_code="FR", party_id="XYZ")

    refused = ocpi("PUT", path, body, headers=headers)

    assert refused.status_code == 200 and refused.json()["status_code"] == 2001
    assert refused.json()["status_message"] == message
    with schema_context(alpha.schema_name):
        assert not PartnerToken.objects.exists()
    assert ocpi("PUT", path, body, headers=routing()).json()["status_code"] == 1000


# --- our requests -------------------------------------------------------------------------------------------------


def test_a_broadcast_push_addresses_the_hub_and_a_direct_partner_itself(
    alpha, partner, partner_server, station, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        with django_capture_on_commit_callbacks(execute=True):
            connector_status_report(station_id=station.pk, evse_id=1, connector_id=1, status="Charging")
        partner.roles = [HUB, BEHIND]
        partner.save()
        with django_capture_on_commit_callbacks(execute=True):
            connector_status_report(station_id=station.pk, evse_id=1, connector_id=1, status="Available")

    direct, through_hub = partner_server.of("PATCH", "/ocpi/2.2.1/locations/")
    assert sent_routing(direct) == ("NL*ALP", "DE*BRV")
    assert sent_routing(through_hub) == ("NL*ALP", "DE*HUB")


def test_a_session_and_its_cdr_go_to_the_drivers_emsp_behind_the_hub(
    alpha, hub, partner_server, django_capture_on_commit_callbacks
):
    from tests.billing.factories import BILLING_ELEMENTS
    from tests.tariffs.factories import ConnectorFactory, TariffAssignmentFactory

    with schema_context(alpha.schema_name):
        connector = ConnectorFactory(evse__station=StationFactory(location=LocationFactory()))
        TariffAssignmentFactory(location=connector.evse.station.location, tariff__elements=BILLING_ELEMENTS)
        behind_token(hub, "XYZ-CARD-1")
        drive(connector.evse.station, "XYZ-CARD-1", django_capture_on_commit_callbacks)

    pushes = partner_server.of("PUT", "/ocpi/2.2.1/sessions/") + partner_server.of("POST", "/ocpi/2.2.1/cdrs")
    assert pushes and {sent_routing(push) for push in pushes} == {("NL*ALP", "FR*XYZ")}


def test_real_time_authorization_through_a_hub_is_open_routed_unless_the_token_is_known(
    alpha, hub, partner_server, station
):
    with schema_context(alpha.schema_name):
        hub.endpoints = partner_server.endpoints("SENDER")
        hub.save()
        id_token_authorize(uid="NEW-CARD", type="ISO14443", station_id=station.pk)
        behind_token(hub, "XYZ-CARD-2")
        id_token_authorize(uid="XYZ-CARD-2", type="ISO14443", station_id=station.pk)

    unknown, known = partner_server.of("POST", "/ocpi/2.2.1/tokens/")
    assert unknown.path.endswith("/NEW-CARD/authorize") and sent_routing(unknown) == ("NL*ALP", None)
    assert known.path.endswith("/XYZ-CARD-2/authorize") and sent_routing(known) == ("NL*ALP", "FR*XYZ")


@pytest.mark.django_db(transaction=True)  # command_send needs the command committed
def test_a_command_result_goes_back_to_the_party_that_sent_the_command(alpha, hub, partner_server, station):
    body = {
        "response_url": f"{partner_server.url}/ocpi/2.2.1/emsp/commands/START_SESSION/r1",
        "token": their_token(country_code="FR", party_id="XYZ"),
        "location_id": str(station.location_id),
        "evse_uid": f"{station.identity}*1",
    }
    with schema_context(alpha.schema_name):
        type(station).objects.filter(pk=station.pk).update(is_online=False)  # the result is known at once

    response = ocpi("POST", "/ocpi/2.2.1/cpo/commands/START_SESSION", body, headers=routing())

    assert response.json()["data"]["result"] == "ACCEPTED"
    (result,) = partner_server.of("POST", "/ocpi/2.2.1/emsp/commands/START_SESSION/r1")
    assert result.body["result"] == "FAILED" and sent_routing(result) == ("NL*ALP", "FR*XYZ")


def test_our_command_is_addressed_to_the_cpo_that_owns_the_location(alpha, partner, partner_server):
    roles_set(alpha, ["EMSP"])
    with schema_context(alpha.schema_name):
        partner.roles = [HUB, {"role": "CPO", "country_code": "BE", "party_id": "CPO", "status": "CONNECTED"}]
        partner.save()
        PartnerLocation.objects.create(
            partner=partner, country_code="BE", party_id="CPO", object_id="LOC-7", data={}, last_updated=timezone.now()
        )
        command_to_partner_send(
            partner=partner, type="START_SESSION", request={"location_id": "LOC-7", "token": {"uid": "X"}}
        )
        command_to_partner_send(partner=partner, type="STOP_SESSION", request={"session_id": "UNKNOWN-9"})

    start, stop = partner_server.of("POST", "/ocpi/2.2.1/commands/")
    assert sent_routing(start) == ("NL*ALP", "BE*CPO")
    assert sent_routing(stop) == ("NL*ALP", "DE*HUB")  # a session we do not hold: the hub routes it
