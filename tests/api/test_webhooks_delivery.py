"""Webhook deliveries end to end: real services publish after commit, a real HTTP receiver verifies the signature
with the code from docs/webhooks.md; retries on the schedule, auto-disable with a notice, replay, isolation."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.api.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from apps.api.selectors import KINDS_TTL_S, webhook_delivery_stats, webhook_kinds_subscribed
from apps.api.services import webhooks as webhook_services
from apps.api.services.webhooks import (
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    retry_delay,
    webhook_deliveries_due,
    webhook_delivery_replay,
    webhook_event_record,
    webhook_events_prune,
    webhook_ping,
    webhook_subscription_create,
    webhook_subscription_enable,
    webhook_subscription_secret_rotate,
    webhook_url_problem,
)
from apps.api.tasks import webhook_deliveries_due_all
from apps.commands.models import Command
from apps.commands.services import command_finish
from apps.sessions.metering import MeterValue, SampledValue
from apps.sessions.services import meter_values_record, session_start, session_stop
from apps.stations.live import live_publish
from apps.stations.services import station_connected
from tests.accounts.factories import UserFactory
from tests.api.webhook_receiver import docs_verify_function
from tests.billing.factories import BILLING_ELEMENTS, T0
from tests.sessions.factories import IdTokenFactory
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import ConnectorFactory, TariffAssignmentFactory

webhook_verify = docs_verify_function()


# Each test starts with no brand's subscribed kinds cached (tests/api/conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_webhook_kinds")


def _event(capture, kind="session.ended", data=None, station_id=7) -> int:
    with capture(execute=True):
        [delivery_id] = webhook_event_record(
            kind=kind, station_id=station_id, at=timezone.now(), data=data or {"session_id": 42}
        )
    return delivery_id


def _subscribe(url: str, kinds=("*",)) -> tuple[WebhookSubscription, str]:
    return webhook_subscription_create(url=url, event_kinds=list(kinds), description="partner")


# --- the schedule -------------------------------------------------------------------------------------------------


def test_the_retry_schedule_grows_has_jitter_and_ends_after_eight_attempts():
    middles = [retry_delay(n, rand=0.5) for n in range(1, MAX_ATTEMPTS)]
    assert middles == [
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(hours=1),
        timedelta(hours=6),
        timedelta(hours=12),
        timedelta(hours=24),
    ]
    assert retry_delay(1, rand=0.0) == timedelta(seconds=27)
    assert retry_delay(1, rand=0.999999) < timedelta(seconds=33)
    assert retry_delay(4, rand=0.0) == timedelta(minutes=54)
    assert retry_delay(MAX_ATTEMPTS) is None and retry_delay(0) is None
    assert MAX_ATTEMPTS == 8


# --- signature ----------------------------------------------------------------------------------------------------


def test_a_delivery_is_signed_as_the_docs_tell_integrators_to_verify(
    tenant_schema, receiver, django_capture_on_commit_callbacks
):
    _, secret = _subscribe(receiver.url())

    delivery_id = _event(django_capture_on_commit_callbacks, data={"session_id": 42, "energy_wh": "11000"})

    [request] = receiver.requests
    event = WebhookEvent.objects.get(deliveries=delivery_id)
    assert webhook_verify(secret, request.raw_headers, request.body)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Webhook-Id"] == str(event.id)
    assert request.headers["Webhook-Signature"].startswith("v1=")
    body = json.loads(request.body)
    assert body == {
        "id": str(event.id),
        "type": "session.ended",
        "created_at": body["created_at"],
        "data": {"station_id": 7, "session_id": 42, "energy_wh": "11000"},
    }
    assert body["created_at"].endswith("Z")
    # What the check refuses: another secret, a changed body, a stale timestamp, a missing signature.
    assert not webhook_verify(secret + "x", request.raw_headers, request.body)
    assert not webhook_verify(secret, request.raw_headers, request.body.replace(b"11000", b"99000"))
    stale = {**request.headers, "Webhook-Timestamp": str(int(time.time()) - 301)}
    assert not webhook_verify(secret, stale, request.body)
    assert not webhook_verify(secret, {"Webhook-Timestamp": request.headers["Webhook-Timestamp"]}, request.body)
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempt_count, delivery.next_attempt_at) == ("succeeded", 1, None)
    [attempt] = delivery.attempts.all()
    assert (attempt.status_code, attempt.error, attempt.response_excerpt) == (200, "", "thanks")


# --- real events after commit -------------------------------------------------------------------------------------


def _types(requests) -> list[str]:
    return [json.loads(request.body)["type"] for request in requests]


@pytest.mark.django_db(transaction=True)
def test_station_session_cdr_and_invoice_events_reach_the_receiver_after_commit_and_only_their_brands(
    tenant, outsider, receiver
):
    with schema_context(tenant.schema_name):
        _, secret = _subscribe(receiver.url("/alpha"))
        connector = ConnectorFactory(evse__station=StationFactory(location=LocationFactory()))
        TariffAssignmentFactory(location=connector.evse.station.location, tariff__elements=BILLING_ELEMENTS)
        station = connector.evse.station
        IdTokenFactory(uid="CARD-9")
    with schema_context(outsider.schema_name):
        _, bravo_secret = _subscribe(receiver.url("/bravo"), kinds=["station.connected"])
        bravo_station = StationFactory()

    with schema_context(tenant.schema_name):
        station_connected(station_id=station.pk, protocol="ocpp1.6", connection_id="conn-1")
        started = session_start(
            station_id=station.pk,
            evse_id=1,
            connector_id=1,
            id_token_uid="CARD-9",
            meter_start_wh=Decimal(1000),
            started_at=T0,
        )
        session_stop(
            station_id=station.pk,
            transaction_id=started.session.transaction_id,
            meter_stop_wh=Decimal(12000),
            stopped_at=T0 + timedelta(minutes=90),
        )

    alpha = receiver.on("/alpha")
    assert _types(alpha) == ["station.connected", "session.started", "session.ended", "cdr.created", "invoice.created"]
    assert all(webhook_verify(secret, request.raw_headers, request.body) for request in alpha)
    data = [json.loads(request.body)["data"] for request in alpha]
    assert data[0] == {"station_id": station.pk, "identity": station.identity, "protocol": "ocpp1.6"}
    assert data[2]["session_id"] == started.session.pk and data[2]["energy_wh"] == "11000.000"
    assert data[3]["session_id"] == started.session.pk and data[3]["total_excl_vat"] == "4.35"
    assert data[4]["total_gross"] == "5.26" and data[4]["cdr_id"] == data[3]["cdr_id"]
    assert receiver.on("/bravo") == []  # bravo subscribes to station.connected, but of its own stations only

    with schema_context(outsider.schema_name):
        station_connected(station_id=bravo_station.pk, protocol="ocpp2.0.1", connection_id="conn-2")
    [bravo] = receiver.on("/bravo")
    assert webhook_verify(bravo_secret, bravo.raw_headers, bravo.body)
    assert json.loads(bravo.body)["data"]["identity"] == bravo_station.identity
    assert len(receiver.on("/alpha")) == 5
    with schema_context(tenant.schema_name):
        assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_command_completed_is_sent_with_the_outcome(tenant_schema, receiver, django_capture_on_commit_callbacks):
    _subscribe(receiver.url(), kinds=["command.completed"])
    station = StationFactory()
    command = Command.objects.create(station=station, operation="reset", status=Command.Status.SENT)

    with django_capture_on_commit_callbacks(execute=True):
        command_finish(command_id=command.pk, status=Command.Status.REJECTED, detail="Busy charging")
        command_finish(command_id=command.pk, status=Command.Status.ACCEPTED)  # has its outcome: no second event

    [request] = receiver.requests
    assert json.loads(request.body)["data"] == {
        "station_id": station.pk,
        "command_id": command.pk,
        "operation": "reset",
        "status": "rejected",
        "detail": "Busy charging",
    }


# --- the hot path -------------------------------------------------------------------------------------------------


def test_an_event_nobody_subscribes_to_costs_no_query(
    tenant_schema, receiver, django_capture_on_commit_callbacks, django_assert_num_queries
):
    _subscribe(receiver.url(), kinds=["station.connected"])
    station = StationFactory()
    meter = {"station_id": station.pk, "data": {"session_id": 1, "energy_wh": Decimal(5)}}
    with django_capture_on_commit_callbacks(execute=True):
        live_publish("session.updated", **meter)  # the first event of the brand reads its kinds

    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(0):
        for _ in range(20):
            live_publish("session.updated", **meter)

    assert receiver.requests == [] and not WebhookEvent.objects.exists()


def test_a_subscription_change_is_seen_at_once_in_its_process_and_within_the_ttl_elsewhere(
    tenant_schema, receiver, django_capture_on_commit_callbacks, monkeypatch
):
    schema = tenant_schema.schema_name
    assert webhook_kinds_subscribed(schema_name=schema) == frozenset()
    with django_capture_on_commit_callbacks(execute=True):
        _subscribe(receiver.url(), kinds=["session.updated"])
    assert webhook_kinds_subscribed(schema_name=schema) == {"session.updated"}  # this process: at once

    # Another process's change: this process's cache knows nothing of it until the TTL runs out.
    WebhookSubscription.objects.create(url=receiver.url(), event_kinds=["fault.opened"], secret="whsec_x")
    assert webhook_kinds_subscribed(schema_name=schema) == {"session.updated"}
    later = time.monotonic() + KINDS_TTL_S + 0.1
    monkeypatch.setattr("apps.api.selectors.clock.monotonic", lambda: later)
    assert webhook_kinds_subscribed(schema_name=schema) == {"session.updated", "fault.opened"}


# --- rotating the secret -----------------------------------------------------------------------------------------


def _verifies(secret: str, request) -> bool:
    return webhook_verify(secret, request.raw_headers, request.body)


def test_after_a_rotation_both_secrets_verify_for_24_hours_then_only_the_new_one(
    tenant_schema, receiver, django_capture_on_commit_callbacks
):
    subscription, old_secret = _subscribe(receiver.url())
    before = timezone.now()

    subscription, new_secret = webhook_subscription_secret_rotate(subscription=subscription)
    _event(django_capture_on_commit_callbacks)

    [during] = receiver.requests
    assert _verifies(old_secret, during) and _verifies(new_secret, during)
    signatures = during.headers["Webhook-Signature"].split(" ")
    assert len(signatures) == 2 and all(signature.startswith("v1=") for signature in signatures)
    assert not _verifies(old_secret + "x", during)
    expires_at = subscription.previous_secret_expires_at
    assert before + timedelta(hours=24) <= expires_at <= timezone.now() + timedelta(hours=24)

    # 24 hours later.
    WebhookSubscription.objects.filter(pk=subscription.pk).update(previous_secret_expires_at=timezone.now())
    _event(django_capture_on_commit_callbacks)

    after = receiver.requests[-1]
    assert _verifies(new_secret, after) and not _verifies(old_secret, after)
    assert len(after.headers["Webhook-Signature"].split(" ")) == 1


def test_a_retry_of_an_event_from_before_the_rotation_carries_both_signatures(
    tenant_schema, receiver, django_capture_on_commit_callbacks
):
    receiver.status = 500
    subscription, old_secret = _subscribe(receiver.url())
    delivery_id = _event(django_capture_on_commit_callbacks)
    _, new_secret = webhook_subscription_secret_rotate(subscription=subscription)
    receiver.status = 200

    with django_capture_on_commit_callbacks(execute=True):
        webhook_deliveries_due(now=WebhookDelivery.objects.get(pk=delivery_id).next_attempt_at)

    retried = receiver.requests[-1]
    assert len(receiver.requests) == 2 and WebhookDelivery.objects.get(pk=delivery_id).status == "succeeded"
    assert _verifies(old_secret, retried) and _verifies(new_secret, retried)


def test_the_overlap_is_a_setting_and_zero_ends_the_old_secret_at_once(
    tenant_schema, receiver, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_SECRET_OVERLAP_HOURS = 2
    subscription, first = _subscribe(receiver.url())
    subscription, second = webhook_subscription_secret_rotate(subscription=subscription)
    assert subscription.previous_secret_expires_at <= timezone.now() + timedelta(hours=2)
    assert subscription.previous_secret_expires_at > timezone.now() + timedelta(hours=1, minutes=59)

    settings.WEBHOOK_SECRET_OVERLAP_HOURS = 0
    subscription, third = webhook_subscription_secret_rotate(subscription=subscription)
    _event(django_capture_on_commit_callbacks)

    [request] = receiver.requests
    assert _verifies(third, request)
    assert not _verifies(second, request) and not _verifies(first, request)
    assert (subscription.previous_secret, subscription.previous_secret_expires_at) == ("", None)


def test_rotating_twice_keeps_only_the_secret_just_replaced(
    tenant_schema, receiver, django_capture_on_commit_callbacks
):
    subscription, first = _subscribe(receiver.url())
    subscription, second = webhook_subscription_secret_rotate(subscription=subscription)
    subscription, third = webhook_subscription_secret_rotate(subscription=subscription)

    _event(django_capture_on_commit_callbacks)

    [request] = receiver.requests
    assert _verifies(third, request) and _verifies(second, request) and not _verifies(first, request)


# --- failures, retries, auto-disable, replay ----------------------------------------------------------------------


def test_a_failing_receiver_is_retried_on_the_schedule_with_the_same_event_id_and_replay_keeps_it(
    tenant_schema, receiver, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    receiver.status, receiver.reply = 500, b"database down"
    _, secret = _subscribe(receiver.url())
    delivery_id = _event(capture)

    for expected in RETRY_DELAYS:
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        assert delivery.status == "pending"
        gap = delivery.next_attempt_at - delivery.last_attempt_at
        assert expected * 0.9 <= gap <= expected * 1.1
        with capture(execute=True):
            assert webhook_deliveries_due(now=delivery.next_attempt_at - timedelta(seconds=1)) == []
        with capture(execute=True):
            assert webhook_deliveries_due(now=delivery.next_attempt_at) == [delivery_id]

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempt_count, delivery.next_attempt_at) == ("failed", 8, None)
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery))
    assert [(a.status_code, a.error, a.response_excerpt) for a in attempts] == [(500, "HTTP 500", "database down")] * 8
    with capture(execute=True):
        assert webhook_deliveries_due(now=timezone.now() + timedelta(days=30)) == []
    assert len(receiver.requests) == 8
    assert len({request.headers["Webhook-Id"] for request in receiver.requests}) == 1
    assert len({request.body for request in receiver.requests}) == 1
    assert WebhookSubscription.objects.get().consecutive_failures == 1

    receiver.status = 204
    with capture(execute=True):
        webhook_delivery_replay(delivery=delivery)

    replayed = receiver.requests[-1]
    assert replayed.headers["Webhook-Id"] == receiver.requests[0].headers["Webhook-Id"]
    assert replayed.body == receiver.requests[0].body
    assert webhook_verify(secret, replayed.raw_headers, replayed.body)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("succeeded", 9)
    assert delivery.attempts.last().manual
    assert WebhookSubscription.objects.get().consecutive_failures == 0  # a success resets the count


def test_the_beat_task_retries_due_deliveries_in_every_brand(
    tenant, outsider, receiver, django_capture_on_commit_callbacks
):
    receiver.status = 500
    delivery_ids = {}
    for brand in (tenant, outsider):
        with schema_context(brand.schema_name):
            _subscribe(receiver.url(f"/{brand.slug}"))
            delivery_ids[brand.slug] = _event(django_capture_on_commit_callbacks)
            WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    receiver.status = 200

    with django_capture_on_commit_callbacks(execute=True):
        webhook_deliveries_due_all()

    assert [len(receiver.on("/alpha")), len(receiver.on("/bravo"))] == [2, 2]
    for brand in (tenant, outsider):
        with schema_context(brand.schema_name):
            assert WebhookDelivery.objects.get(pk=delivery_ids[brand.slug]).status == "succeeded"


def test_a_network_error_is_a_failed_attempt_with_the_error_logged(
    tenant_schema, receiver, django_capture_on_commit_callbacks
):
    url = receiver.url()
    receiver.server.shutdown()
    receiver.server.server_close()  # nothing listens on that port any more
    _subscribe(url)

    delivery_id = _event(django_capture_on_commit_callbacks)

    [attempt] = WebhookAttempt.objects.filter(delivery_id=delivery_id)
    assert attempt.status_code is None and attempt.error.startswith("ConnectionError")
    assert WebhookDelivery.objects.get(pk=delivery_id).status == "pending"


def test_five_exhausted_deliveries_in_a_row_disable_the_subscription_and_tell_the_staff(
    tenant_schema, receiver, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    admin = UserFactory(role=Role.ADMIN, email="admin@alpha.test")
    UserFactory(role=Role.OPERATOR, email="operator@alpha.test")
    UserFactory(role=Role.DRIVER, email="driver@alpha.test")
    receiver.status = 503
    with capture(execute=True):
        subscription, _ = _subscribe(receiver.url())
    for _ in range(webhook_services.DISABLE_AFTER_FAILED_DELIVERIES):
        _event(capture)

    for _ in range(MAX_ATTEMPTS - 1):
        with capture(execute=True):
            webhook_deliveries_due(now=timezone.now() + timedelta(days=3))

    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.disabled_at is not None
    assert subscription.disabled_reason == "5 deliveries in a row failed after 8 attempts each."
    assert len(receiver.requests) == 5 * 8
    [notice] = mail.outbox
    assert notice.to == [admin.email]
    assert "disabled" in notice.subject and receiver.url() in notice.body and "5 deliveries" in notice.body
    # Disabled: new events are not recorded for it, and nothing falls due.
    with capture(execute=True):
        assert webhook_event_record(kind="session.ended", station_id=1, at=timezone.now(), data={}) == []
        assert webhook_deliveries_due(now=timezone.now() + timedelta(days=30)) == []

    with capture(execute=True):
        webhook_subscription_enable(subscription=subscription)
    subscription.refresh_from_db()
    assert (subscription.is_active, subscription.consecutive_failures, subscription.disabled_reason) == (True, 0, "")
    receiver.status = 200
    _event(capture)
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 1


def test_a_ping_goes_once_even_to_a_disabled_subscription(tenant_schema, receiver, django_capture_on_commit_callbacks):
    receiver.status = 500
    subscription, secret = _subscribe(receiver.url(), kinds=["fault.opened"])
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhook_ping(subscription=subscription)

    [request] = receiver.requests
    assert json.loads(request.body)["type"] == "webhook.ping"
    assert webhook_verify(secret, request.raw_headers, request.body)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.next_attempt_at) == ("failed", 1, None)
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_deliveries_due(now=timezone.now() + timedelta(days=3)) == []


# --- which URLs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/hook", "http://10.1.2.3/hook", "https://169.254.169.254/latest", "http://[::1]/"],
)
def test_private_addresses_are_refused_unless_the_setting_allows_them(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    assert "private" in webhook_url_problem(url)
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    assert webhook_url_problem(url) is None


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://x", "http://user:pw@x.test/"])
def test_only_http_urls_without_credentials_are_accepted(url):
    assert webhook_url_problem(url) is not None


def test_an_address_that_became_private_is_refused_at_send_time(
    tenant_schema, receiver, settings, django_capture_on_commit_callbacks
):
    _subscribe(receiver.url())
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

    delivery_id = _event(django_capture_on_commit_callbacks)

    assert receiver.requests == []
    [attempt] = WebhookAttempt.objects.filter(delivery_id=delivery_id)
    assert attempt.status_code is None and attempt.error.startswith("Refused: ")


def test_old_events_are_pruned_with_their_deliveries_and_attempts(
    tenant_schema, receiver, django_capture_on_commit_callbacks
):
    _subscribe(receiver.url())
    old = _event(django_capture_on_commit_callbacks)
    recent = _event(django_capture_on_commit_callbacks)
    WebhookEvent.objects.filter(deliveries=old).update(created_at=timezone.now() - timedelta(days=31))

    assert webhook_events_prune(before=timezone.now() - timedelta(days=30)) == 1

    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [recent]
    assert list(WebhookAttempt.objects.values_list("delivery_id", flat=True)) == [recent]
    assert WebhookEvent.objects.count() == 1


# --- usage analytics ----------------------------------------------------------------------------------------------


def test_delivery_stats_count_succeeded_and_failed_per_client_and_day(
    tenant_schema, receiver, django_capture_on_commit_callbacks
):
    partner, _ = webhook_subscription_create(url=receiver.url(), event_kinds=["*"], client_id="key:evk_abcdefgh")
    _subscribe(receiver.url("/admin-made"), kinds=["fault.opened"])
    _event(django_capture_on_commit_callbacks)
    receiver.status = 500
    with django_capture_on_commit_callbacks(execute=True):
        webhook_event_record(kind="fault.opened", station_id=1, at=timezone.now(), data={})
    WebhookDelivery.objects.filter(status="pending").update(status="failed")
    today = timezone.now().date()

    stats = webhook_delivery_stats(since=timezone.now() - timedelta(days=1), until=timezone.now() + timedelta(days=1))

    assert stats == [
        {"client_id": "", "day": today, "succeeded": 0, "failed": 1},
        {"client_id": "key:evk_abcdefgh", "day": today, "succeeded": 1, "failed": 1},
    ]
    assert partner.client_id == "key:evk_abcdefgh"
    later = webhook_delivery_stats(since=timezone.now() + timedelta(days=1), until=timezone.now() + timedelta(days=2))
    assert later == []


def test_meter_values_reach_a_session_updated_subscriber(tenant_schema, receiver, django_capture_on_commit_callbacks):
    _subscribe(receiver.url(), kinds=["session.updated"])
    connector = ConnectorFactory(evse__station=StationFactory())
    station = connector.evse.station
    with django_capture_on_commit_callbacks(execute=True):
        started = session_start(
            station_id=station.pk,
            evse_id=1,
            connector_id=1,
            id_token_uid="CARD-1",
            meter_start_wh=Decimal(0),
            started_at=timezone.now() - timedelta(minutes=5),
        )
    assert receiver.requests == []  # session.started is not wanted
    reading = MeterValue(timezone.now(), [SampledValue(Decimal(1500))])
    with django_capture_on_commit_callbacks(execute=True):
        meter_values_record(
            station_id=station.pk, evse_id=1, transaction_id=started.session.transaction_id, meter_values=[reading]
        )

    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["type"] == "session.updated" and body["data"]["energy_wh"] == "1500.000"
