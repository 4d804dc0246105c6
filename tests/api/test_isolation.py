"""No credential of one brand reaches another brand's data, on any operation of the served schema.

The operations come from the OpenAPI schema itself, so an endpoint added later is covered (or this test fails until
it says which of the outsider's objects its path parameters name). Per operation-specific tests live beside each
resource; this one is the net under all of them.
"""

from datetime import UTC, datetime

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.api.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from apps.api.services.driver_app import DRIVER_APP_SCOPES
from apps.api.services.webhooks import webhook_subscription_create
from apps.commands.models import Command
from apps.groups.models import GroupRun
from apps.sessions.models import IdToken
from apps.stations.models import Fault
from apps.tariffs.models import Tariff, TariffAssignment
from tests.accounts.factories import DriverFactory
from tests.accounts.rbac import person_token
from tests.api.conftest import api_client, key_in
from tests.billing.factories import StoredPaymentMethodFactory, session_billed
from tests.groups.factories import StationGroupFactory
from tests.sessions.factories import IdTokenFactory

ALPHA, BRAVO = "alpha.localhost", "bravo.localhost"
# A body that would be valid if the object were ours: the 404 must come from the object, not from validation.
BODIES = {
    "remote_start": {"id_token": "TAG-1", "evse_id": 1},
    "remote_stop": {"transaction_id": "T-1"},
    "unlock_connector": {"evse_id": 1},
    "change_availability": {"operative": True},
    "reset": {"kind": "soft"},
    "tariffs": {"name": "Changed"},
    "tokens": {"status": "Blocked"},
    "users": {"first_name": "Changed"},
    "webhooks": {"description": "changed"},
}


@pytest.fixture
def bravo_objects(outsider) -> dict[str, int]:
    """One of each of the outsider brand's objects, by the name of the path parameter that would name it."""
    with schema_context(outsider.schema_name):
        session, cdr, invoice = session_billed()
        station = session.station
        token = IdTokenFactory()
        subscription, _ = webhook_subscription_create(url="http://127.0.0.1:9/hook", event_kinds=["*"])
        event = WebhookEvent.objects.create(kind="session.ended", data={}, created_at=datetime.now(UTC))
        delivery = WebhookDelivery.objects.create(event=event, subscription=subscription, created_at=event.created_at)
        fault = Fault.objects.create(
            station=station, fault_class="connector", severity="error", code="X", opened_at=datetime.now(UTC)
        )
        tariff = Tariff.objects.first()
        group = StationGroupFactory(stations=[station])
        return {
            "station_id": station.pk,
            "evse_id": station.evses.first().evse_id,
            "location_id": station.location_id,
            "session_id": session.pk,
            "cdr_id": cdr.pk,
            "invoice_id": invoice.pk,
            "tariff_id": tariff.pk,
            "assignment_id": TariffAssignment.objects.create(tariff=tariff, location=station.location).pk,
            "token_id": token.pk,
            "user_id": DriverFactory().pk,
            "group_id": group.pk,
            "run_id": GroupRun.objects.create(group=group, group_name=group.name, operation="reset").pk,
            "fault_id": fault.pk,
            "command_id": Command.objects.create(station=station, operation="reset").pk,
            "subscription_id": subscription.pk,
            "delivery_id": delivery.pk,
            "customer_id": outsider.pk,  # a brand, as a reseller's customer ids are (tests/api/test_customers.py)
            # An EVSE code as printed on the outsider's stickers (the driver app's network, docs/driver-network.md).
            "code": f"{outsider.slug.upper()}*{station.identity}*{station.evses.first().evse_id}",
            # A driver's own things (/api/v1/me/…): another brand's driver's card and payment method.
            "card_id": IdTokenFactory(owner=DriverFactory()).pk,
            "method_id": StoredPaymentMethodFactory().pk,
        }


def _operations(client: Client) -> list[tuple[str, str]]:
    schema = client.get("/api/schema/?format=json").json()
    return [(method, path) for path, operations in schema["paths"].items() for method in operations]


def _body_for(path: str) -> dict:
    return next((body for name, body in BODIES.items() if f"/{name}/" in path or path.endswith(f"/{name}")), {})


def _call(client: Client, method: str, path: str):
    if method in ("post", "patch", "put"):
        return getattr(client, method)(path, _body_for(path), content_type="application/json")
    return getattr(client, method)(path)


def _bravo_state(outsider) -> dict:
    with schema_context(outsider.schema_name):
        return {
            "tariffs": list(Tariff.objects.values_list("pk", "name").order_by("pk")),
            "commands": Command.objects.count(),
            "assignments": list(TariffAssignment.objects.values_list("pk", flat=True).order_by("pk")),
            "group_runs": list(GroupRun.objects.values_list("pk", "status").order_by("pk")),
            "deliveries": list(WebhookDelivery.objects.values_list("pk", "attempt_count")),
            "subscriptions": list(WebhookSubscription.objects.values_list("pk", "description", "secret", "is_active")),
            "tokens": list(IdToken.objects.values_list("pk", "status")),
            "users": list(User.objects.values_list("pk", "first_name", "is_active")),
        }


def test_an_outsiders_credential_is_unknown_on_every_operation(tenant, outsider, bravo_objects):
    bravo_key = key_in(outsider)
    client = api_client(ALPHA, bravo_key)
    operations = _operations(client)
    assert len(operations) > 50

    for method, template in operations:
        path = template.format(**bravo_objects)
        response = _call(client, method, path)
        assert response.status_code == 401, f"{method.upper()} {path}: {response.status_code}"


def test_our_credential_never_reaches_an_outsiders_objects(tenant, outsider, bravo_objects):
    client = api_client(ALPHA, key_in(tenant))
    # The driver app's /me/ operations act for a person: one of our drivers' tokens, which an API key is not.
    with schema_context(tenant.schema_name):
        our_driver = DriverFactory()
    driver = api_client(ALPHA, person_token(tenant, our_driver, scopes=DRIVER_APP_SCOPES))
    before = _bravo_state(outsider)
    by_id = [(method, path) for method, path in _operations(client) if "{" in path]
    assert len(by_id) > 30

    for method, template in by_id:
        path = template.format(**bravo_objects)
        response = _call(driver if path.startswith("/api/v1/me/") else client, method, path)
        assert response.status_code == 404, f"{method.upper()} {path}: {response.status_code} {response.content[:200]}"
        # Another brand's EVSE code is named as such, so the driver app can send the driver to that brand's app;
        # nothing of that brand's network is read (the answer names only the brand).
        expected = "evse_of_another_brand" if "{code}" in template else "not_found"
        assert response.json()["error"]["code"] == expected

    assert _bravo_state(outsider) == before
    # And the outsider's own key still sees its objects there: the ids were real.
    bravo = api_client(BRAVO, key_in(outsider))
    assert bravo.get(f"/api/v1/sessions/{bravo_objects['session_id']}/").status_code == 200
    assert bravo.get(f"/api/v1/invoices/{bravo_objects['invoice_id']}/").status_code == 200
