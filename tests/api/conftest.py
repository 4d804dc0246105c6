import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.api.models import Scope
from apps.api.services import api_key_create

ALL_SCOPES = list(Scope.values)


def key_in(tenant, scopes=ALL_SCOPES, **kwargs) -> str:
    with schema_context(tenant.schema_name):
        _, plaintext = api_key_create(name="integration", scopes=scopes, **kwargs)
    return plaintext


def api_client(host: str, key: str | None) -> Client:
    headers = {"HTTP_HOST": host}
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return Client(**headers)


@pytest.fixture
def alpha_api(tenant) -> Client:
    return api_client("alpha.localhost", key_in(tenant))
