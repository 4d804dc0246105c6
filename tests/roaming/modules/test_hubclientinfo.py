"""hubclientinfo: a hub (or any partner) tells us a party's connection status; we keep it in the partner's roles."""

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.roaming.models import Partner
from apps.roaming.modules.hubclientinfo import partner_connected
from tests.roaming.conftest import TOKEN_C, b64, ocpi, roles_set
from tests.roaming.factories import PartnerFactory

PATH = "/ocpi/2.2.1/hubclientinfo"


def client_info(country_code="DE", party_id="BRV", role="EMSP", status="OFFLINE", **changes) -> dict:
    return {
        "country_code": country_code,
        "party_id": party_id,
        "role": role,
        "status": status,
        "last_updated": "2026-04-01T08:00:00Z",
    } | changes


def reloaded(alpha, partner) -> Partner:
    with schema_context(alpha.schema_name):
        return Partner.objects.get(pk=partner.pk)


@pytest.mark.parametrize("roles", [["CPO"], ["EMSP"]])
def test_a_partners_own_party_status_is_kept_in_its_role(alpha, partner, roles):
    roles_set(alpha, roles)
    assert partner_connected(partner)

    response = ocpi("PUT", f"{PATH}/DE/BRV", client_info())
    assert response.status_code == 200 and response.json()["status_code"] == 1000
    assert "OCPI-from-party-id" not in response

    stored = reloaded(alpha, partner)
    assert len(stored.roles) == 1 and stored.roles[0]["status"] == "OFFLINE"
    assert stored.roles[0]["business_details"] == {"name": "Bravo"}
    assert not partner_connected(stored)
    assert ocpi("GET", f"{PATH}/DE/BRV").json()["data"] == client_info()

    ocpi("PUT", f"{PATH}/DE/BRV", client_info(status="CONNECTED"))
    assert partner_connected(reloaded(alpha, partner))


def test_a_hubs_other_party_is_added_after_its_own_roles(alpha, partner):
    ocpi("PUT", f"{PATH}/FR/XYZ", client_info("FR", "XYZ", role="CPO", status="SUSPENDED"))

    stored = reloaded(alpha, partner)
    assert [(r["country_code"], r["party_id"]) for r in stored.roles] == [("DE", "BRV"), ("FR", "XYZ")]
    assert stored.roles[1]["hubclientinfo"] is True and stored.roles[1]["status"] == "SUSPENDED"
    # Another party's status says nothing of the partner's own connection.
    assert partner_connected(stored)
    assert ocpi("GET", f"{PATH}/FR/XYZ").json()["data"]["status"] == "SUSPENDED"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (client_info(status="MAYBE"), "status"),
        (client_info(role="DRIVER"), "role"),
        (client_info(last_updated=None), "last_updated"),
        (client_info(last_updated="noon"), "last_updated"),
        (client_info(party_id="OTH"), "party_id"),
    ],
)
def test_invalid_client_info_is_2001_naming_the_field(alpha, partner, body, field):
    response = ocpi("PUT", f"{PATH}/DE/BRV", body)

    assert response.status_code == 200 and response.json()["status_code"] == 2001
    assert field in response.json()["status_message"]
    assert "status" not in reloaded(alpha, partner).roles[0]


def test_unknown_clients_tokens_methods_and_bad_json(alpha, partner):
    unknown = ocpi("GET", f"{PATH}/NL/NOP")
    assert unknown.status_code == 404 and unknown.json()["status_code"] == 2000
    assert ocpi("DELETE", f"{PATH}/DE/BRV").status_code == 405

    with schema_context(alpha.schema_name):
        pending = PartnerFactory()
    for token in (pending.token_a, "nobody"):
        response = ocpi("PUT", f"{PATH}/DE/BRV", client_info(), token=token)
        assert response.status_code == 401 and response.json()["status_code"] == 2000

    client = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Token {b64(TOKEN_C)}")
    bad = client.put(f"{PATH}/DE/BRV", "{", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["status_code"] == 2001


def test_version_details_list_hubclientinfo_for_both_roles(alpha, partner):
    for roles in (["CPO"], ["EMSP"]):
        roles_set(alpha, roles)
        endpoints = ocpi("GET", "/ocpi/2.2.1/").json()["data"]["endpoints"]
        assert {
            "identifier": "hubclientinfo",
            "role": "RECEIVER",
            "url": "http://alpha.localhost/ocpi/2.2.1/hubclientinfo",
        } in endpoints
