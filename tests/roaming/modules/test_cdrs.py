"""The cdrs module: our CDRs of a partner's drivers (CPO: pushed, listed), and a CPO partner's CDRs of our drivers
received with our own rating of them (eMSP: stored, 201 with Location, disputes)."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.billing.models import Cdr, Invoice
from apps.billing.services.cdrs import cdr_issue
from apps.billing.services.sessions import session_bill
from apps.roaming.exceptions import RoamingError
from apps.roaming.models import PartnerCdr, PartnerLocation, PartnerTariff, RoamingSession
from apps.roaming.modules.cdrs import cdr_created_push, cdr_store
from apps.roaming.pull import partner_pull
from tests.billing.factories import session_with_readings
from tests.roaming.conftest import ALPHA, TOKEN_C, b64, ocpi, partner_as, roles_set
from tests.roaming.factories import PartnerFactory

CDRS = "/ocpi/2.2.1/cpo/cdrs"
RECEIVER = "/ocpi/2.2.1/emsp/cdrs"
CDR_TOKEN = {"country_code": "DE", "party_id": "BRV", "uid": "BRV-CARD-1", "type": "RFID", "contract_id": "DE-BRV-1"}


def roaming_cdr(partner) -> Cdr:
    """A session of the partner's driver (a RoamingSession) billed: its CDR."""
    session = session_with_readings()
    RoamingSession.objects.create(session=session, partner=partner, cdr_token=CDR_TOKEN)
    return cdr_issue(session=session)


# --- CPO: our CDRs ----------------------------------------------------------------------------------------------------


def test_a_roaming_sessions_cdr_carries_the_emsps_token_and_our_party(alpha, partner):
    with schema_context(alpha.schema_name):
        cdr = roaming_cdr(partner)
        own = cdr_issue(session=session_with_readings())
    document = cdr.ocpi
    assert document["cdr_token"] == CDR_TOKEN and cdr.token_uid == "BRV-CARD-1"
    assert (document["country_code"], document["party_id"]) == ("NL", "ALP")  # RoamingSettings, not OCPI_* settings
    assert own.ocpi["cdr_token"]["country_code"] == "NL" and own.ocpi["cdr_token"]["party_id"] == "ALP"


def test_the_cdr_of_a_roaming_session_is_posted_as_issued(alpha, partner, partner_server):
    with schema_context(alpha.schema_name):
        cdr = roaming_cdr(partner)
        message = cdr_created_push(station_id=None, at="", data={"id": cdr.pk})
    assert (message.module, message.method, message.path) == ("cdrs", "POST", "")
    # Numbers as JSON numbers with the issued text: the same canonical JSON once dumped.
    assert json.dumps(message.body, sort_keys=True, separators=(",", ":")) == cdr.ocpi_json


def test_the_cdr_of_our_own_drivers_session_is_not_posted(alpha, partner, partner_server):
    with schema_context(alpha.schema_name):
        cdr = cdr_issue(session=session_with_readings())
        assert cdr_created_push(station_id=None, at="", data={"id": cdr.pk}) is None
        assert cdr_created_push(station_id=None, at="", data={"id": 999999}) is None


def test_no_post_to_a_partner_without_a_cdrs_receiver(alpha, partner, partner_server):
    with schema_context(alpha.schema_name):
        partner.endpoints = [e for e in partner.endpoints if e["identifier"] != "cdrs"]
        partner.save()
        cdr = roaming_cdr(partner)
        assert cdr_created_push(station_id=None, at="", data={"id": cdr.pk}) is None


@pytest.fixture
def issued(alpha, partner):
    """Three CDRs of Bravo's drivers issued one after the other, and one of another partner's."""
    with schema_context(alpha.schema_name):
        ours = [roaming_cdr(partner) for _ in range(3)]
        roaming_cdr(PartnerFactory(name="Charlie"))
    return ours


def test_the_list_holds_the_calling_partners_cdrs_only_and_pages(partner, issued):
    first = ocpi("GET", CDRS, limit=2)

    assert first.status_code == 200 and first.json()["status_code"] == 1000
    assert [cdr["id"] for cdr in first.json()["data"]] == [cdr.cdr_id for cdr in issued[:2]]
    assert first["X-Total-Count"] == "3" and 'rel="next"' in first["Link"]
    second = ocpi("GET", CDRS, offset=2)
    assert [cdr["id"] for cdr in second.json()["data"]] == [issued[2].cdr_id] and "Link" not in second
    assert second.json()["data"][0]["cdr_token"] == CDR_TOKEN


def test_the_list_filters_on_the_issue_date(partner, issued):
    response = ocpi("GET", CDRS, date_from=issued[1].issued_at.isoformat(), date_to=issued[2].issued_at.isoformat())

    assert [cdr["id"] for cdr in response.json()["data"]] == [issued[1].cdr_id]
    assert ocpi("GET", CDRS, date_to="nope").json()["status_code"] == 2001
    assert ocpi("GET", CDRS, token="nobody").status_code == 401


# --- eMSP: their CDRs -------------------------------------------------------------------------------------------------

# Bravo's tariff: 0.50 a session and 0.35/kWh; 11 kWh in an hour costs 4.35 excl. VAT.
TARIFF = {
    "country_code": "DE",
    "party_id": "BRV",
    "id": "BRV-T1",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": "FLAT", "price": 0.50, "vat": 21, "step_size": 1},
                {"type": "ENERGY", "price": 0.35, "vat": 21, "step_size": 1},
            ]
        }
    ],
    "last_updated": "2026-01-01T00:00:00Z",
}


def their_cdr(**changes) -> dict:
    cdr = {
        "country_code": "DE",
        "party_id": "BRV",
        "id": "BRV-CDR-1",
        "start_date_time": "2026-03-02T09:00:00Z",
        "end_date_time": "2026-03-02T10:00:00Z",
        "session_id": "BRV-S-1",
        "cdr_token": {"country_code": "NL", "party_id": "ALP", "uid": "ALP-1", "type": "RFID", "contract_id": "C-1"},
        "auth_method": "AUTH_REQUEST",
        "cdr_location": {
            "id": "LOC-1",
            "address": "Hauptstrasse 1",
            "city": "Berlin",
            "country": "DEU",
            "coordinates": {"latitude": "52.520000", "longitude": "13.400000"},
            "evse_uid": "EVSE-1",
            "evse_id": "DE*BRV*E1",
            "connector_id": "1",
            "connector_standard": "IEC_62196_T2",
            "connector_format": "SOCKET",
            "connector_power_type": "AC_3_PHASE",
        },
        "currency": "EUR",
        "tariffs": [TARIFF],
        "charging_periods": [
            {
                "start_date_time": "2026-03-02T09:00:00Z",
                "dimensions": [{"type": "ENERGY", "volume": 11}, {"type": "TIME", "volume": 1}],
                "tariff_id": "BRV-T1",
            }
        ],
        "total_cost": {"excl_vat": 4.35, "incl_vat": 5.26},
        "total_energy": 11,
        "total_time": 1,
        "last_updated": "2026-03-02T10:00:05Z",
    }
    cdr.update(changes)
    return {key: value for key, value in cdr.items() if value is not None}


@pytest.fixture
def cpo_partner(alpha, partner):
    """Alpha as an eMSP; Bravo a CPO (DE*BRV)."""
    roles_set(alpha, ["EMSP"])
    with schema_context(alpha.schema_name):
        return partner_as(partner, role="CPO", country_code="DE", party_id="BRV", endpoints_role="SENDER")


def stored(alpha, object_id="BRV-CDR-1") -> PartnerCdr:
    with schema_context(alpha.schema_name):
        return PartnerCdr.objects.get(object_id=object_id)


def test_a_posted_cdr_is_stored_and_answered_201_with_its_location(alpha, cpo_partner):
    response = ocpi("POST", RECEIVER, their_cdr())

    assert response.status_code == 201 and response.json()["status_code"] == 1000
    cdr = stored(alpha)
    assert response["Location"] == f"http://alpha.localhost/ocpi/2.2.1/emsp/cdrs/{cdr.pk}"
    assert (cdr.session_id, cdr.currency, cdr.total_cost_excl_vat, cdr.total_cost_incl_vat, cdr.total_energy) == (
        "BRV-S-1",
        "EUR",
        Decimal("4.35"),
        Decimal("5.26"),
        Decimal("11"),
    )
    assert (cdr.token_uid, cdr.credit, cdr.start_date_time) == ("ALP-1", False, datetime(2026, 3, 2, 9, tzinfo=UTC))
    got = ocpi("GET", response["Location"].replace("http://alpha.localhost", ""))
    assert got.status_code == 200 and got.json()["data"] == their_cdr()


def test_our_rating_matching_their_total_is_not_disputed(alpha, cpo_partner):
    ocpi("POST", RECEIVER, their_cdr())

    cdr = stored(alpha)
    assert (cdr.expected_total_excl_vat, cdr.disputed) == (Decimal("4.35"), False)


def test_a_total_that_differs_from_our_rating_is_disputed(alpha, cpo_partner):
    ocpi("POST", RECEIVER, their_cdr(total_cost={"excl_vat": 5.00, "incl_vat": 6.05}))

    cdr = stored(alpha)
    assert (cdr.expected_total_excl_vat, cdr.disputed) == (Decimal("4.35"), True)


def test_a_cent_of_rounding_is_not_a_dispute(alpha, cpo_partner):
    ocpi("POST", RECEIVER, their_cdr(total_cost={"excl_vat": 4.36}))

    assert stored(alpha).disputed is False


def test_the_tariff_named_in_the_periods_is_found_among_their_tariffs(alpha, cpo_partner):
    """No tariff in the CDR: the one its charging periods name, as they sent it to our tariffs receiver; parking is
    read from the periods (a PARKING_TIME period is not charging)."""
    parking = TARIFF | {
        "elements": [
            {
                "price_components": [
                    {"type": "FLAT", "price": 0.50, "step_size": 1},
                    {"type": "ENERGY", "price": 0.35, "step_size": 1},
                    {"type": "TIME", "price": 0, "step_size": 1},
                ]
            },
            {"price_components": [{"type": "PARKING_TIME", "price": 6, "step_size": 60}]},
        ]
    }
    with schema_context(alpha.schema_name):
        PartnerTariff.objects.create(
            partner=cpo_partner,
            country_code="DE",
            party_id="BRV",
            object_id="BRV-T1",
            data=parking,
            last_updated=timezone.now(),
        )
        PartnerLocation.objects.create(
            partner=cpo_partner,
            country_code="DE",
            party_id="BRV",
            object_id="LOC-1",
            data={"id": "LOC-1", "time_zone": "Europe/Berlin"},
            last_updated=timezone.now(),
        )
    periods = [
        {
            "start_date_time": "2026-03-02T09:00:00Z",
            "dimensions": [{"type": "ENERGY", "volume": 11}, {"type": "TIME", "volume": 1}],
            "tariff_id": "BRV-T1",
        },
        {
            "start_date_time": "2026-03-02T10:00:00Z",
            "dimensions": [{"type": "PARKING_TIME", "volume": 0.5}],
            "tariff_id": "BRV-T1",
        },
    ]
    # 0.50 + 11 × 0.35 + half an hour parked at 6/h = 7.35.
    body = their_cdr(tariffs=None, charging_periods=periods, end_date_time="2026-03-02T10:30:00Z")
    ocpi("POST", RECEIVER, body | {"total_cost": {"excl_vat": 7.35}, "total_time": 1.5})

    cdr = stored(alpha)
    assert (cdr.expected_total_excl_vat, cdr.disputed) == (Decimal("7.35"), False)


def test_without_a_known_tariff_nothing_is_expected_nor_disputed(alpha, cpo_partner):
    ocpi("POST", RECEIVER, their_cdr(tariffs=None))

    cdr = stored(alpha)
    assert (cdr.expected_total_excl_vat, cdr.disputed) == (None, False)


def test_a_credit_cdr_is_stored_unrated(alpha, cpo_partner):
    ocpi("POST", RECEIVER, their_cdr())
    credit = their_cdr(id="BRV-CDR-1-CR", credit=True, credit_reference_id="BRV-CDR-1")
    response = ocpi("POST", RECEIVER, credit | {"total_cost": {"excl_vat": -4.35, "incl_vat": -5.26}})

    assert response.status_code == 201
    cdr = stored(alpha, "BRV-CDR-1-CR")
    assert (cdr.credit, cdr.credit_reference_id, cdr.total_cost_excl_vat) == (True, "BRV-CDR-1", Decimal("-4.35"))
    assert (cdr.expected_total_excl_vat, cdr.disputed) == (None, False)


def test_the_same_cdr_again_is_accepted_once_and_another_under_its_id_refused(alpha, cpo_partner):
    first = ocpi("POST", RECEIVER, their_cdr())
    again = ocpi("POST", RECEIVER, their_cdr())
    assert again.status_code == 201 and again["Location"] == first["Location"]

    changed = ocpi("POST", RECEIVER, their_cdr(total_energy=12))
    assert changed.status_code == 200 and changed.json()["status_code"] == 2001
    assert "id" in changed.json()["status_message"]
    with schema_context(alpha.schema_name):
        assert PartnerCdr.objects.count() == 1


@pytest.mark.parametrize(
    "field",
    [
        "country_code",
        "party_id",
        "id",
        "start_date_time",
        "end_date_time",
        "cdr_token",
        "auth_method",
        "cdr_location",
        "currency",
        "charging_periods",
        "total_cost",
        "total_energy",
        "total_time",
        "last_updated",
    ],
)
def test_a_cdr_without_a_required_field_is_2001_naming_it(alpha, cpo_partner, field):
    body = their_cdr()
    del body[field]
    response = ocpi("POST", RECEIVER, body)

    assert response.status_code == 200 and response.json()["status_code"] == 2001
    assert field in response.json()["status_message"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"total_cost": {"incl_vat": 1}}, "total_cost"),
        ({"total_energy": "much"}, "total_energy"),
        ({"end_date_time": "later"}, "end_date_time"),
        ({"charging_periods": []}, "charging_periods"),
        ({"cdr_token": {"uid": "X"}}, "cdr_token"),
        ({"credit": True}, "credit_reference_id"),
        ({"country_code": "FR", "party_id": "XYZ"}, "party"),
    ],
)
def test_an_invalid_cdr_is_2001_naming_the_field(alpha, cpo_partner, changes, field):
    response = ocpi("POST", RECEIVER, their_cdr(**changes))

    assert response.json()["status_code"] == 2001 and field in response.json()["status_message"]


def test_receiver_refusals(alpha, cpo_partner):
    client = Client(HTTP_HOST=ALPHA, HTTP_AUTHORIZATION=f"Token {b64(TOKEN_C)}")
    assert client.post(RECEIVER, "{broken", content_type="application/json").status_code == 400
    assert ocpi("POST", RECEIVER, their_cdr(), token="nobody").status_code == 401
    unknown = ocpi("GET", f"{RECEIVER}/999999")
    assert (unknown.status_code, unknown.json()["status_code"]) == (404, 2000)
    assert ocpi("GET", f"{RECEIVER}/abc").status_code == 404


def test_a_cdr_is_read_only_by_the_partner_that_posted_it(alpha, cpo_partner):
    location = ocpi("POST", RECEIVER, their_cdr())["Location"].replace("http://alpha.localhost", "")
    with schema_context(alpha.schema_name):
        other = PartnerCdr.objects.get()
        other.pk, other.partner = None, PartnerFactory(name="Charlie")
        other.object_id = "CHARLIE-1"
        other.save()
    foreign = ocpi("GET", f"{RECEIVER}/{other.pk}")
    assert (foreign.status_code, foreign.json()["status_code"]) == (404, 2000)
    assert ocpi("GET", location).status_code == 200


def test_a_cpo_only_brand_takes_no_cdrs(partner):
    response = ocpi("POST", RECEIVER, their_cdr())
    assert response.status_code == 404 and response.json()["status_code"] == 2000


def test_cdrs_are_pulled_and_rated(alpha, cpo_partner, partner_server):
    partner_server.answer("GET", "/ocpi/2.2.1/cdrs", [their_cdr(), their_cdr(id="BRV-CDR-2", currency=None)])
    with schema_context(alpha.schema_name):
        result = partner_pull(partner=cpo_partner, module="cdrs")
        assert result.stored == 1 and result.refused == ["BRV-CDR-2: currency is required"]
        assert PartnerCdr.objects.get().expected_total_excl_vat == Decimal("4.35")
        with pytest.raises(RoamingError, match="party"):
            cdr_store(partner=cpo_partner, data=their_cdr(id="X", party_id="XYZ"))


def test_a_roaming_session_is_billed_to_the_partner_by_its_cdr_not_to_a_driver_by_a_receipt(alpha, partner):
    with schema_context(alpha.schema_name):
        session = session_with_readings()
        RoamingSession.objects.create(session=session, partner=partner, cdr_token=CDR_TOKEN)
        billed = session_bill(session_id=session.pk)
        assert billed.cdr is not None and billed.cdr.ocpi["cdr_location"]["evse_uid"].endswith("*1")
        assert billed.invoice is None and billed.skipped == "roaming: billed by the partner"
        assert not Invoice.objects.exists()


def test_a_cdr_id_of_39_characters_is_taken_and_a_longer_one_refused_by_name(alpha, cpo_partner):
    longest = "C" * 39

    assert ocpi("POST", RECEIVER, their_cdr(id=longest)).status_code == 201
    refused = ocpi("POST", RECEIVER, their_cdr(id=longest + "X")).json()
    assert refused["status_code"] == 2001 and "id" in refused["status_message"]
    assert stored(alpha, object_id=longest).object_id == longest
