"""The OCPI transport rules as a partner platform sees them: envelope, token header, ids echoed, error codes."""

import base64
import json
import re

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.roaming import services
from apps.roaming.exceptions import PartnerUnreachableError
from apps.roaming.models import Partner
from tests.roaming.factories import PartnerFactory, RoamingSettingsFactory

ALPHA = "alpha.localhost"
BRAVO_VERSIONS = "http://bravo.localhost/ocpi/versions"


def b64(token: str) -> str:
    return base64.b64encode(token.encode()).decode()


@pytest.fixture
def alpha(tenant):
    with schema_context(tenant.schema_name):
        RoamingSettingsFactory()
    return tenant


@pytest.fixture
def partner(alpha):
    with schema_context(alpha.schema_name):
        return PartnerFactory()


def client_with(token: str | None, **headers) -> Client:
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    return Client(HTTP_HOST=ALPHA, **headers)


def credentials_body(token="their-token-b", url=BRAVO_VERSIONS) -> dict:
    return {
        "token": token,
        "url": url,
        "roles": [
            {"role": "EMSP", "party_id": "BRV", "country_code": "DE", "business_details": {"name": "Bravo Power"}}
        ],
    }


@pytest.fixture
def bravo_offers(monkeypatch):
    """Bravo's answers to our versions and details calls, without a server: set `offers` to change them."""
    offers = {
        BRAVO_VERSIONS: [{"version": "2.2.1", "url": "http://bravo.localhost/ocpi/2.2.1/"}],
        "http://bravo.localhost/ocpi/2.2.1/": {
            "version": "2.2.1",
            "endpoints": [
                {"identifier": "credentials", "role": "RECEIVER", "url": "http://bravo.localhost/ocpi/2.2.1/cred"}
            ],
        },
    }

    def fake_request(method, url, **kwargs):
        if url not in offers:
            raise PartnerUnreachableError(url)
        return offers[url]

    monkeypatch.setattr(services, "ocpi_request", fake_request)
    return offers


def test_versions_in_the_envelope_with_token_a(partner):
    response = client_with(b64(partner.token_a)).get("/ocpi/versions")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "status_code", "timestamp"}
    assert body["status_code"] == 1000
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timestamp"])
    assert body["data"] == [{"version": "2.2.1", "url": "http://alpha.localhost/ocpi/2.2.1/"}]


def test_version_details_list_credentials_and_the_interfaces_of_a_cpo(partner):
    body = client_with(b64(partner.token_a)).get("/ocpi/2.2.1/").json()

    assert body["data"]["version"] == "2.2.1"
    assert [(e["identifier"], e["role"]) for e in body["data"]["endpoints"]] == [
        ("credentials", "SENDER"),
        ("credentials", "RECEIVER"),
        ("locations", "SENDER"),
        ("sessions", "SENDER"),
        ("cdrs", "SENDER"),
        ("tariffs", "SENDER"),
        ("tokens", "RECEIVER"),
        ("commands", "RECEIVER"),
        ("chargingprofiles", "RECEIVER"),
        ("hubclientinfo", "RECEIVER"),
    ]


def test_request_and_correlation_ids_are_echoed(partner):
    response = client_with(b64(partner.token_a), HTTP_X_REQUEST_ID="req-1", HTTP_X_CORRELATION_ID="corr-1").get(
        "/ocpi/versions"
    )

    assert response["X-Request-ID"] == "req-1"
    assert response["X-Correlation-ID"] == "corr-1"


@pytest.mark.parametrize("token", [None, b64("nobody"), "nobody"])
def test_unknown_or_missing_token_is_401_in_the_envelope(partner, token):
    response = client_with(token, HTTP_X_REQUEST_ID="req-2").get("/ocpi/versions")

    assert response.status_code == 401
    assert response.json()["status_code"] == 2000
    assert response["X-Request-ID"] == "req-2"


def test_plain_token_only_for_a_partner_that_sends_them_plain(alpha, partner):
    assert client_with(partner.token_a).get("/ocpi/versions").status_code == 401
    with schema_context(alpha.schema_name):
        Partner.objects.filter(pk=partner.pk).update(tokens_base64=False)

    assert client_with(partner.token_a).get("/ocpi/versions").status_code == 200
    assert client_with(b64(partner.token_a)).get("/ocpi/versions").status_code == 401


def test_a_token_of_another_brand_is_unknown_here(outsider, partner):
    response = Client(HTTP_HOST="bravo.localhost", HTTP_AUTHORIZATION=f"Token {b64(partner.token_a)}").get(
        "/ocpi/versions"
    )

    assert response.status_code == 401


def test_invalid_json_is_400_with_2001(partner):
    response = client_with(b64(partner.token_a)).post(
        "/ocpi/2.2.1/credentials", data="{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["status_code"] == 2001


def test_credentials_without_token_are_2001(partner, bravo_offers):
    response = client_with(b64(partner.token_a)).post(
        "/ocpi/2.2.1/credentials", data={"url": BRAVO_VERSIONS, "roles": []}, content_type="application/json"
    )

    assert response.status_code == 200  # valid JSON reached the OCPI layer: the error is in the envelope
    assert response.json()["status_code"] == 2001


def test_registration_answers_our_credentials_with_a_new_token_and_spends_token_a(alpha, partner, bravo_offers):
    response = client_with(b64(partner.token_a)).post(
        "/ocpi/2.2.1/credentials", data=credentials_body(), content_type="application/json"
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["url"] == "http://alpha.localhost/ocpi/versions"
    assert data["roles"] == [
        {"role": "CPO", "party_id": "ALP", "country_code": "NL", "business_details": {"name": "Alpha Charge"}}
    ]
    assert data["token"] not in {partner.token_a, "their-token-b"}
    assert client_with(b64(partner.token_a)).get("/ocpi/versions").status_code == 401
    got = client_with(b64(data["token"])).get("/ocpi/2.2.1/credentials")
    assert got.status_code == 200 and got.json()["data"]["token"] == data["token"]
    with schema_context(alpha.schema_name):
        stored = Partner.objects.get(pk=partner.pk)
    assert stored.status == "registered" and stored.token_b == "their-token-b"
    assert stored.roles[0]["party_id"] == "BRV" and stored.endpoints[0]["identifier"] == "credentials"
    assert data["token"] not in json.dumps([stored.token_c_hash, stored.token_a_hash])


def test_post_when_registered_is_405(partner, bravo_offers):
    token_c = (
        client_with(b64(partner.token_a))
        .post("/ocpi/2.2.1/credentials", data=credentials_body(), content_type="application/json")
        .json()["data"]["token"]
    )

    response = client_with(b64(token_c)).post(
        "/ocpi/2.2.1/credentials", data=credentials_body(), content_type="application/json"
    )

    assert response.status_code == 405


@pytest.mark.parametrize("method", ["put", "delete"])
def test_put_and_delete_when_not_registered_are_405(partner, method):
    response = getattr(client_with(b64(partner.token_a)), method)(
        "/ocpi/2.2.1/credentials", data=credentials_body(), content_type="application/json"
    )

    assert response.status_code == 405
    assert response.json()["status_code"] == 2000


def test_partner_without_2_2_1_is_3002(partner, bravo_offers):
    bravo_offers[BRAVO_VERSIONS] = [{"version": "2.1.1", "url": "http://bravo.localhost/ocpi/2.1.1/"}]

    response = client_with(b64(partner.token_a)).post(
        "/ocpi/2.2.1/credentials", data=credentials_body(), content_type="application/json"
    )

    assert (response.status_code, response.json()["status_code"]) == (200, 3002)
    assert client_with(b64(partner.token_a)).get("/ocpi/versions").status_code == 200  # token A not spent


def test_partner_without_credentials_endpoint_is_3003(partner, bravo_offers):
    bravo_offers["http://bravo.localhost/ocpi/2.2.1/"] = {"version": "2.2.1", "endpoints": []}

    response = client_with(b64(partner.token_a)).post(
        "/ocpi/2.2.1/credentials", data=credentials_body(), content_type="application/json"
    )

    assert (response.status_code, response.json()["status_code"]) == (200, 3003)


def test_partner_out_of_reach_is_3001(partner, bravo_offers):
    response = client_with(b64(partner.token_a)).post(
        "/ocpi/2.2.1/credentials",
        data=credentials_body(url="http://nowhere.localhost/ocpi/versions"),
        content_type="application/json",
    )

    assert (response.status_code, response.json()["status_code"]) == (200, 3001)
