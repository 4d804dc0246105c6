"""Roaming fixtures: alpha (the `tenant`) as an OCPI party, a registered partner that calls us with TOKEN_C, an
OCPI test client on alpha's host, and a partner platform on the wire (tests/roaming/partner_server.py)."""

import base64

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.roaming.models import Partner, RoamingSettings, token_hash
from apps.roaming.receivers import partners_changed
from apps.whitelabel.models import schema_name_for_slug
from tests.roaming.factories import PartnerFactory, RoamingSettingsFactory
from tests.roaming.partner_server import PartnerServer

ALPHA = "alpha.localhost"
TOKEN_C = "bravo-token-c"


def b64(token: str) -> str:
    return base64.b64encode(token.encode()).decode()


def ocpi(method: str, path: str, body=None, *, token: str = TOKEN_C, host: str = ALPHA, headers=None, **params):
    """An OCPI request to alpha with the test client: `body` as JSON, `params` as the query (GET), more `headers`."""
    client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Token {b64(token)}")
    if method == "GET":
        return client.get(path, params, headers=headers)
    import json

    content = json.dumps(body) if body is not None else ""
    return client.generic(method, path, content, content_type="application/json", headers=headers)


@pytest.fixture(autouse=True)
def _partners_cache_cleared():
    """has_registered_partners caches per brand for a few seconds, and a rolled-back test saves no signal: each
    test starts and ends without a cached answer."""
    schema_names = [schema_name_for_slug(slug) for slug in ("alpha", "bravo")]
    for schema_name in schema_names:
        partners_changed(schema_name)
    yield
    for schema_name in schema_names:
        partners_changed(schema_name)


@pytest.fixture
def alpha(tenant):
    """Alpha as a CPO (NL*ALP); set `RoamingSettings.roles` to test the eMSP side."""
    with schema_context(tenant.schema_name):
        RoamingSettingsFactory()
    return tenant


def roles_set(tenant, roles: list[str]) -> None:
    with schema_context(tenant.schema_name):
        RoamingSettings.objects.update(roles=roles)


@pytest.fixture
def partner_server():
    with PartnerServer() as server:
        yield server


@pytest.fixture
def partner(alpha, partner_server):
    """Bravo (DE*BRV, an eMSP), registered with alpha: it calls us with TOKEN_C, we call it with "alpha-token" at
    `partner_server`, whose endpoints are its RECEIVER interfaces (use `partner_endpoints_set` for SENDER)."""
    with schema_context(alpha.schema_name):
        partner = PartnerFactory(name="Bravo Power")
        partner.token_c_hash = token_hash(TOKEN_C)
        partner.token_b = "alpha-token"
        partner.status = Partner.Status.REGISTERED
        partner.version = "2.2.1"
        partner.roles = [
            {"role": "EMSP", "country_code": "DE", "party_id": "BRV", "business_details": {"name": "Bravo"}}
        ]
        partner.endpoints = partner_server.endpoints("RECEIVER")
        partner.save()
        return partner


def partner_as(partner: Partner, *, role: str, country_code: str, party_id: str, endpoints_role: str) -> Partner:
    """Make the registered partner another party: e.g. a CPO (role) whose endpoints are SENDER interfaces."""
    partner.roles = [{"role": role, "country_code": country_code, "party_id": party_id}]
    server_url = partner.endpoints[0]["url"].split("/ocpi/")[0]
    partner.endpoints = [
        {**e, "role": endpoints_role} if e["identifier"] not in {"credentials", "hubclientinfo"} else e
        for e in partner.endpoints
    ]
    assert server_url
    partner.save()
    return partner
