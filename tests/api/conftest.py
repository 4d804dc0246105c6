import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.api.models import Scope
from apps.api.selectors import webhook_kinds_forget
from apps.api.services import api_key_create
from tests.api.webhook_receiver import receiving

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


@pytest.fixture
def receiver():
    """A real HTTP server on 127.0.0.1 that records webhook deliveries (tests/api/webhook_receiver.py)."""
    yield from receiving()


@pytest.fixture
def fresh_webhook_kinds():
    """No brand's subscribed event kinds cached before or after the test (apps.api.selectors)."""
    webhook_kinds_forget()
    yield
    webhook_kinds_forget()


# The driver app's tests fake the station at the command service (tests/billing/driver.py).
from tests.billing.driver import station  # noqa: E402, F401
