"""Two brands register with each other over real HTTP, each served by its own daphne: alpha (a CPO) registers with
bravo (an eMSP) with the token A bravo gave it, rotates its credentials, then unregisters."""

import base64

import pytest
import requests
from django_tenants.utils import schema_context

from apps.roaming.client import ocpi_request
from apps.roaming.models import Partner
from apps.roaming.services import partner_create, partner_credentials_rotate, partner_register, partner_unregister
from tests.processes import DaphneProcess
from tests.roaming.factories import RoamingSettingsFactory


def status_of(server: DaphneProcess, host: str, path: str, token: str, method: str = "GET") -> int:
    response = requests.request(
        method,
        f"http://127.0.0.1:{server.port}{path}",
        headers={"Host": host, "Authorization": "Token " + base64.b64encode(token.encode()).decode()},
        timeout=10,
    )
    assert set(response.json()) >= {"data", "status_code", "timestamp"}
    return response.status_code


@pytest.mark.django_db(transaction=True)
def test_two_brands_register_rotate_and_unregister_over_http(tenant, outsider, tmp_path):
    with DaphneProcess(tmp_path / "alpha.log") as alpha_server, DaphneProcess(tmp_path / "bravo.log") as bravo_server:
        alpha_host, bravo_host = f"alpha.localhost:{alpha_server.port}", f"bravo.localhost:{bravo_server.port}"
        with schema_context(outsider.schema_name):
            RoamingSettingsFactory(
                country_code="DE",
                party_id="BRV",
                roles=["EMSP"],
                business_name="Bravo Power",
                public_url=f"http://{bravo_host}",
            )
            _, token_a = partner_create(name="Alpha Charge")
        with schema_context(tenant.schema_name):
            RoamingSettingsFactory(public_url=f"http://{alpha_host}")
            at_alpha, _ = partner_create(
                name="Bravo Power", versions_url=f"http://{bravo_host}/ocpi/versions", token=token_a
            )

            # Alpha's operator registers: alpha → bravo versions, details, POST credentials; bravo calls alpha back.
            at_alpha = partner_register(partner=at_alpha)

        with schema_context(outsider.schema_name):
            at_bravo = Partner.objects.get(name="Alpha Charge")
        assert at_alpha.status == at_bravo.status == "registered"
        assert at_alpha.version == at_bravo.version == "2.2.1"
        assert at_alpha.roles[0]["party_id"] == "BRV" and at_alpha.roles[0]["role"] == "EMSP"
        assert at_bravo.roles[0]["party_id"] == "ALP" and at_bravo.roles[0]["role"] == "CPO"
        assert at_bravo.versions_url == f"http://{alpha_host}/ocpi/versions"
        assert {(e["identifier"], e["role"]) for e in at_alpha.endpoints} >= {
            ("credentials", "RECEIVER"),
            ("tokens", "SENDER"),
        }
        alpha_calls_bravo_with, bravo_calls_alpha_with = at_alpha.token_b, at_bravo.token_b
        assert token_a not in {alpha_calls_bravo_with, bravo_calls_alpha_with}

        # Each side reads the other's credentials with the token it was given.
        bravo_credentials = ocpi_request(
            "GET", f"http://{bravo_host}/ocpi/2.2.1/credentials", token=alpha_calls_bravo_with
        )
        assert bravo_credentials["token"] == alpha_calls_bravo_with
        assert bravo_credentials["roles"][0]["business_details"] == {"name": "Bravo Power"}
        alpha_credentials = ocpi_request(
            "GET", f"http://{alpha_host}/ocpi/2.2.1/credentials", token=bravo_calls_alpha_with
        )
        assert alpha_credentials["url"] == f"http://{alpha_host}/ocpi/versions"
        # The token A is spent.
        assert status_of(bravo_server, bravo_host, "/ocpi/versions", token_a) == 401

        # Alpha rotates: PUT with a new token for bravo, bravo answers a new token for alpha; the old ones stop.
        with schema_context(tenant.schema_name):
            at_alpha = partner_credentials_rotate(partner=at_alpha)
        with schema_context(outsider.schema_name):
            at_bravo = Partner.objects.get(name="Alpha Charge")
        assert at_alpha.token_b != alpha_calls_bravo_with and at_bravo.token_b != bravo_calls_alpha_with
        assert status_of(bravo_server, bravo_host, "/ocpi/2.2.1/credentials", at_alpha.token_b) == 200
        assert status_of(alpha_server, alpha_host, "/ocpi/2.2.1/credentials", at_bravo.token_b) == 200
        assert status_of(bravo_server, bravo_host, "/ocpi/2.2.1/credentials", alpha_calls_bravo_with) == 401
        assert status_of(alpha_server, alpha_host, "/ocpi/2.2.1/credentials", bravo_calls_alpha_with) == 401

        # Alpha unregisters: DELETE at bravo; neither token works any more.
        alpha_calls_bravo_with, bravo_calls_alpha_with = at_alpha.token_b, at_bravo.token_b
        with schema_context(tenant.schema_name):
            at_alpha = partner_unregister(partner=at_alpha)
        with schema_context(outsider.schema_name):
            at_bravo = Partner.objects.get(name="Alpha Charge")
        assert at_alpha.status == at_bravo.status == "unregistered"
        assert status_of(bravo_server, bravo_host, "/ocpi/2.2.1/credentials", alpha_calls_bravo_with) == 401
        assert status_of(alpha_server, alpha_host, "/ocpi/versions", bravo_calls_alpha_with) == 401
