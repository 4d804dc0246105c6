"""API keys: which keys get in (401 otherwise), which scopes they need (403 otherwise), one error format."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.api.exceptions import ApiKeyInvalidScopeError
from apps.api.models import ApiKey, Scope, secret_hash_of
from apps.api.services import api_key_create, api_key_revoke
from tests.api.conftest import api_client, key_in


def _error(response) -> dict:
    return response.json()["error"]


def test_a_key_is_stored_only_as_its_hash_and_prefix(tenant_schema):
    api_key, plaintext = api_key_create(name="fleet", scopes=[Scope.STATIONS_READ])

    stored = ApiKey.objects.get(pk=api_key.pk)
    assert plaintext.startswith(stored.prefix) and len(plaintext) > 40
    assert stored.secret_hash == secret_hash_of(plaintext) and plaintext not in stored.secret_hash
    assert stored.scopes == ["stations:read"]


def test_bearer_and_x_api_key_headers_both_work_and_record_use(tenant):
    key = key_in(tenant)

    assert api_client("alpha.localhost", key).get("/api/v1/locations/").status_code == 200
    response = Client(HTTP_HOST="alpha.localhost", HTTP_X_API_KEY=key).get("/api/v1/locations/")

    assert response.status_code == 200
    with schema_context(tenant.schema_name):
        assert ApiKey.objects.get().last_used_at is not None


def test_no_key_answers_401_with_a_challenge(tenant):
    response = api_client("alpha.localhost", None).get("/api/v1/stations/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert _error(response)["code"] == "not_authenticated"


def test_unknown_key_answers_401(tenant):
    response = api_client("alpha.localhost", "evk_notakeyatall-but-long-enough").get("/api/v1/stations/")

    assert response.status_code == 401
    assert _error(response) == {"code": "api_key_unknown", "message": "Unknown API key.", "fields": {}}


def test_a_wrong_secret_with_a_real_prefix_answers_401(tenant):
    key = key_in(tenant)

    response = api_client("alpha.localhost", key[:-4] + "AAAA").get("/api/v1/stations/")

    assert response.status_code == 401 and _error(response)["code"] == "api_key_unknown"


def test_another_brands_key_is_unknown_on_this_brands_host(tenant, outsider):
    bravo_key = key_in(outsider)

    response = api_client("alpha.localhost", bravo_key).get("/api/v1/stations/")

    assert response.status_code == 401
    assert _error(response)["code"] == "api_key_unknown"


def test_expired_key_answers_401(tenant):
    key = key_in(tenant, expires_at=timezone.now() - timedelta(seconds=1))

    response = api_client("alpha.localhost", key).get("/api/v1/stations/")

    assert response.status_code == 401
    assert _error(response) == {"code": "api_key_expired", "message": "This API key has expired.", "fields": {}}


def test_revoked_key_answers_401(tenant):
    key = key_in(tenant)
    with schema_context(tenant.schema_name):
        api_key_revoke(api_key=ApiKey.objects.get())

    response = api_client("alpha.localhost", key).get("/api/v1/stations/")

    assert response.status_code == 401
    assert _error(response)["code"] == "api_key_revoked"


def test_revoking_twice_keeps_the_first_time(tenant_schema):
    api_key, _ = api_key_create(name="x", scopes=[])
    first = api_key_revoke(api_key=api_key).revoked_at

    assert api_key_revoke(api_key=ApiKey.objects.get(pk=api_key.pk)).revoked_at == first


def test_missing_scope_answers_403_naming_it(tenant):
    key = key_in(tenant, scopes=[Scope.LOCATIONS_READ])

    response = api_client("alpha.localhost", key).get("/api/v1/stations/")

    assert response.status_code == 403
    assert _error(response) == {
        "code": "scope_missing",
        "message": "This credential lacks the scope(s): stations:read.",
        "fields": {},
    }


def test_malformed_authorization_header_answers_401(tenant):
    response = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION="Basic abc").get("/api/v1/stations/")

    assert response.status_code == 401
    assert _error(response)["code"] == "authorization_header_invalid"


def test_unknown_scopes_are_refused_when_creating(tenant_schema):
    with pytest.raises(ApiKeyInvalidScopeError):
        api_key_create(name="x", scopes=["stations:delete"])

    assert not ApiKey.objects.exists()
