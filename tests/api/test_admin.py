"""API keys in the operator admin: the plaintext key is shown once after creating, the hash never; revoke."""

from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.api.models import ApiKey, secret_hash_of
from apps.api.services import api_key_create
from tests.accounts.factories import PASSWORD, UserFactory


def _client(tenant, role=Role.ADMIN) -> Client:
    with schema_context(tenant.schema_name):
        user = UserFactory(role=role)
    client = Client(HTTP_HOST="alpha.localhost")
    assert client.post("/admin/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def test_creating_a_key_shows_the_plaintext_once_and_stores_its_hash(tenant):
    client = _client(tenant)

    response = client.post(
        "/admin/api/apikey/add/", {"name": "Fleet portal", "scopes": ["stations:read", "locations:read"]}, follow=True
    )

    assert response.status_code == 200
    [message] = [str(m) for m in response.context["messages"] if "not be shown again" in str(m)]
    plaintext = message.rsplit(" ", 1)[-1]
    with schema_context(tenant.schema_name):
        api_key = ApiKey.objects.get()
    assert api_key.secret_hash == secret_hash_of(plaintext)
    assert api_key.scopes == ["locations:read", "stations:read"]
    page = client.get("/admin/api/apikey/").content.decode()
    assert api_key.prefix in page and "locations:read, stations:read" in page
    assert plaintext not in page and api_key.secret_hash not in page
    detail = client.get(f"/admin/api/apikey/{api_key.pk}/change/").content.decode()
    assert api_key.secret_hash not in detail and plaintext not in detail


def test_revoke_action(tenant):
    with schema_context(tenant.schema_name):
        api_key, _ = api_key_create(name="old", scopes=[])

    _client(tenant).post("/admin/api/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]})

    with schema_context(tenant.schema_name):
        api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_operators_see_keys_but_cannot_create_or_revoke_them(tenant):
    with schema_context(tenant.schema_name):
        api_key, _ = api_key_create(name="old", scopes=[])
    client = _client(tenant, role=Role.OPERATOR)

    assert client.get("/admin/api/apikey/").status_code == 200
    assert client.get("/admin/api/apikey/add/").status_code == 403
    client.post("/admin/api/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]})
    with schema_context(tenant.schema_name):
        api_key.refresh_from_db()
    assert api_key.revoked_at is None
