"""Webhooks in the operator admin: the secret is shown once after creating; deliveries with their attempts; the
replay, re-enable and ping actions; roles that only view."""

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.api.models import WebhookDelivery, WebhookSubscription
from apps.api.services.webhooks import (
    webhook_event_record,
    webhook_subscription_create,
    webhook_subscription_disable,
)
from tests.accounts.factories import PASSWORD, UserFactory

# Each test starts with no brand's subscribed kinds cached (tests/api/conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_webhook_kinds")


def _client(tenant, role=Role.ADMIN) -> Client:
    with schema_context(tenant.schema_name):
        user = UserFactory(role=role)
    client = Client(HTTP_HOST="alpha.localhost")
    assert client.post("/admin/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def test_creating_a_subscription_shows_the_secret_once(tenant):
    client = _client(tenant)

    response = client.post(
        "/admin/api/webhooksubscription/add/",
        {"url": "https://partner.example/hook", "event_kinds": ["session.ended", "fault.opened"], "description": "ERP"},
        follow=True,
    )

    assert response.status_code == 200
    [message] = [str(m) for m in response.context["messages"] if "not be shown again" in str(m)]
    secret = message.rsplit(" ", 1)[-1]
    with schema_context(tenant.schema_name):
        subscription = WebhookSubscription.objects.get()
    assert subscription.secret == secret and subscription.event_kinds == ["fault.opened", "session.ended"]
    assert subscription.client_id == ""
    listing = client.get("/admin/api/webhooksubscription/").content.decode()
    detail = client.get(f"/admin/api/webhooksubscription/{subscription.pk}/change/").content.decode()
    assert "https://partner.example/hook" in listing
    assert secret not in listing and secret not in detail


def test_the_admin_refuses_a_url_that_is_not_http(tenant):
    response = _client(tenant).post(
        "/admin/api/webhooksubscription/add/", {"url": "ftp://partner.example/", "event_kinds": ["*"]}
    )

    assert response.status_code == 200  # the form again, with the error
    assert "Only http and https URLs can receive webhooks." in response.content.decode()
    with schema_context(tenant.schema_name):
        assert not WebhookSubscription.objects.exists()


def test_a_disabled_subscription_shows_why_and_can_be_re_enabled(tenant):
    with schema_context(tenant.schema_name):
        subscription, _ = webhook_subscription_create(url="https://partner.example/", event_kinds=["*"])
        webhook_subscription_disable(subscription=subscription, reason="5 deliveries in a row failed.")
    client = _client(tenant)

    assert "5 deliveries in a row failed." in client.get("/admin/api/webhooksubscription/").content.decode()
    client.post("/admin/api/webhooksubscription/", {"action": "enable", "_selected_action": [subscription.pk]})

    with schema_context(tenant.schema_name):
        subscription.refresh_from_db()
    assert subscription.is_active and subscription.disabled_reason == ""


def test_ping_and_replay_actions_send_and_deliveries_show_their_attempts(
    tenant, receiver, django_capture_on_commit_callbacks
):
    with schema_context(tenant.schema_name):
        subscription, _ = webhook_subscription_create(url=receiver.url(), event_kinds=["fault.opened"])
    receiver.status, receiver.reply = 502, b"bad gateway"
    with schema_context(tenant.schema_name), django_capture_on_commit_callbacks(execute=True):
        [delivery_id] = webhook_event_record(kind="fault.opened", station_id=4, at=timezone.now(), data={"code": "X"})
    client = _client(tenant)
    receiver.status = 200

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/api/webhookdelivery/", {"action": "replay", "_selected_action": [delivery_id]})
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/api/webhooksubscription/", {"action": "ping", "_selected_action": [subscription.pk]})

    assert [request.headers["Webhook-Id"] for request in receiver.requests][:2] == [
        receiver.requests[0].headers["Webhook-Id"]
    ] * 2
    with schema_context(tenant.schema_name):
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        assert (delivery.status, delivery.attempt_count) == ("succeeded", 2)
        assert WebhookDelivery.objects.filter(event__kind="webhook.ping", status="succeeded").count() == 1
    page = client.get(f"/admin/api/webhookdelivery/{delivery_id}/change/").content.decode()
    assert "502" in page and "bad gateway" in page and "200" in page and str(delivery.event_id) in page


def test_operators_see_webhooks_but_cannot_create_or_replay(tenant, receiver, django_capture_on_commit_callbacks):
    with schema_context(tenant.schema_name):
        webhook_subscription_create(url=receiver.url(), event_kinds=["fault.opened"])
        with django_capture_on_commit_callbacks(execute=True):
            [delivery_id] = webhook_event_record(kind="fault.opened", station_id=4, at=timezone.now(), data={})
    client = _client(tenant, role=Role.OPERATOR)

    assert client.get("/admin/api/webhooksubscription/").status_code == 200
    assert client.get("/admin/api/webhookdelivery/").status_code == 200
    assert client.get("/admin/api/webhooksubscription/add/").status_code == 403
    client.post("/admin/api/webhookdelivery/", {"action": "replay", "_selected_action": [delivery_id]})

    assert len(receiver.requests) == 1


def test_editing_a_subscription_keeps_its_secret(tenant):
    with schema_context(tenant.schema_name):
        subscription, secret = webhook_subscription_create(url="https://partner.example/", event_kinds=["*"])
    client = _client(tenant)

    response = client.post(
        f"/admin/api/webhooksubscription/{subscription.pk}/change/",
        {"url": "https://partner.example/v2", "event_kinds": ["cdr.created"], "description": "v2"},
    )

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        subscription.refresh_from_db()
    assert (subscription.url, subscription.event_kinds, subscription.secret) == (
        "https://partner.example/v2",
        ["cdr.created"],
        secret,
    )


def test_rotating_a_secret_shows_the_new_one_once_and_until_when_the_old_one_signs(tenant):
    with schema_context(tenant.schema_name):
        subscription, old_secret = webhook_subscription_create(url="https://partner.example/", event_kinds=["*"])

    response = _client(tenant).post(
        "/admin/api/webhooksubscription/",
        {"action": "rotate_secret", "_selected_action": [subscription.pk]},
        follow=True,
    )

    [message] = [str(m) for m in response.context["messages"] if "not shown again" in str(m)]
    with schema_context(tenant.schema_name):
        subscription.refresh_from_db()
    assert message.rsplit(" ", 1)[-1] == subscription.secret != old_secret
    assert subscription.previous_secret == old_secret
    assert f"previous one also signs until {subscription.previous_secret_expires_at:%Y-%m-%d %H:%M} UTC" in message
