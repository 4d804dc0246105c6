"""The webhook endpoints under /api/v1/webhooks/ (scope webhooks:manage): each one's happy path, another brand's
credential and ids, a missing scope, and bad input."""

import json

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.api.models import EventKind, WebhookDelivery, WebhookSubscription
from apps.api.services.webhooks import webhook_event_record, webhook_subscription_create
from tests.api.conftest import api_client, key_in
from tests.api.webhook_receiver import docs_verify_function

HOST = "alpha.localhost"
webhook_verify = docs_verify_function()


# Each test starts with no brand's subscribed kinds cached (tests/api/conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_webhook_kinds")


@pytest.fixture
def subscription(tenant, receiver) -> WebhookSubscription:
    with schema_context(tenant.schema_name):
        subscription, _ = webhook_subscription_create(url=receiver.url(), event_kinds=["session.ended"])
    return subscription


@pytest.fixture
def bravo_subscription(outsider, receiver) -> WebhookSubscription:
    with schema_context(outsider.schema_name):
        subscription, _ = webhook_subscription_create(url=receiver.url("/bravo"), event_kinds=["*"])
    return subscription


def _delivery_of(tenant, capture, kind="session.ended") -> WebhookDelivery:
    with schema_context(tenant.schema_name), capture(execute=True):
        [delivery_id] = webhook_event_record(kind=kind, station_id=3, at=timezone.now(), data={"session_id": 9})
    with schema_context(tenant.schema_name):
        return WebhookDelivery.objects.select_related("event").get(pk=delivery_id)


def _post(client, path, data=None):
    return client.post(path, json.dumps(data or {}), content_type="application/json")


def _patch(client, path, data):
    return client.patch(path, json.dumps(data), content_type="application/json")


# --- every endpoint: scope, another brand ------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/api/v1/webhooks/"),
    ("post", "/api/v1/webhooks/"),
    ("get", "/api/v1/webhooks/event-kinds/"),
    ("get", "/api/v1/webhooks/{sub}/"),
    ("patch", "/api/v1/webhooks/{sub}/"),
    ("delete", "/api/v1/webhooks/{sub}/"),
    ("post", "/api/v1/webhooks/{sub}/rotate-secret/"),
    ("post", "/api/v1/webhooks/{sub}/ping/"),
    ("get", "/api/v1/webhooks/{sub}/deliveries/"),
    ("post", "/api/v1/webhooks/{sub}/deliveries/{delivery}/replay/"),
]


def _call(client, method, path):
    if method in ("post", "patch"):
        return getattr(client, method)(path, json.dumps({}), content_type="application/json")
    return getattr(client, method)(path)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_the_webhooks_scope(tenant, subscription, method, path):
    client = api_client(HOST, key_in(tenant, scopes=["stations:read", "sessions:read"]))

    response = _call(client, method, path.format(sub=subscription.pk, delivery=1))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "scope_missing"
    assert "webhooks:manage" in response.json()["error"]["message"]
    with schema_context(tenant.schema_name):
        assert WebhookSubscription.objects.filter(pk=subscription.pk).exists()


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_another_brands_key_is_unknown_here(tenant, outsider, subscription, method, path):
    client = api_client(HOST, key_in(outsider))

    response = _call(client, method, path.format(sub=subscription.pk, delivery=1))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_unknown"


@pytest.mark.parametrize(("method", "path"), [endpoint for endpoint in ENDPOINTS if "{sub}" in endpoint[1]])
def test_another_brands_subscriptions_are_not_found(
    tenant, outsider, bravo_subscription, alpha_api, method, path, django_capture_on_commit_callbacks
):
    with schema_context(outsider.schema_name), django_capture_on_commit_callbacks(execute=True):
        [delivery_id] = webhook_event_record(kind="fault.opened", station_id=None, at=timezone.now(), data={})

    response = _call(alpha_api, method, path.format(sub=bravo_subscription.pk, delivery=delivery_id))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    with schema_context(outsider.schema_name):
        kept = WebhookSubscription.objects.get(pk=bravo_subscription.pk)
        assert kept.secret == bravo_subscription.secret
        assert WebhookDelivery.objects.get(pk=delivery_id).attempt_count == 1  # no replay, no ping


# --- event kinds --------------------------------------------------------------------------------------------------


def test_event_kinds_are_listed_with_what_they_mean(alpha_api):
    response = alpha_api.get("/api/v1/webhooks/event-kinds/")

    assert response.status_code == 200
    kinds = {row["kind"]: row["description"] for row in response.json()}
    assert set(kinds) == set(EventKind.values)
    assert kinds["session.ended"] == "A charging session ended"


# --- create -------------------------------------------------------------------------------------------------------


def test_create_returns_the_secret_once_and_records_the_client(tenant):
    key = key_in(tenant)
    client = api_client(HOST, key)

    response = _post(
        client,
        "/api/v1/webhooks/",
        {"url": "https://partner.example/hooks", "event_kinds": ["session.ended", "cdr.created"], "description": "ERP"},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["event_kinds"] == ["cdr.created", "session.ended"]
    assert (body["url"], body["description"], body["is_active"]) == ("https://partner.example/hooks", "ERP", True)
    assert body["client_id"] == f"key:{key[:12]}"
    with schema_context(tenant.schema_name):
        assert WebhookSubscription.objects.get(pk=body["id"]).secret == body["secret"]
    detail = client.get(f"/api/v1/webhooks/{body['id']}/").json()
    listed = client.get("/api/v1/webhooks/").json()["results"]
    assert "secret" not in detail and all("secret" not in row for row in listed)
    assert body["secret"] not in json.dumps([detail, listed])


def test_all_kinds_is_a_star(alpha_api):
    response = _post(
        alpha_api, "/api/v1/webhooks/", {"url": "https://p.example/", "event_kinds": ["*", "fault.opened"]}
    )

    assert response.status_code == 201 and response.json()["event_kinds"] == ["*"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"url": "ftp://partner.example/x", "event_kinds": ["*"]}, "url"),
        ({"url": "javascript:alert(1)", "event_kinds": ["*"]}, "url"),
        ({"url": "not a url", "event_kinds": ["*"]}, "url"),
        ({"event_kinds": ["*"]}, "url"),
        ({"url": "https://p.example/", "event_kinds": ["station.exploded"]}, "event_kinds"),
        ({"url": "https://p.example/", "event_kinds": []}, "event_kinds"),
        ({"url": "https://p.example/", "event_kinds": "session.ended"}, "event_kinds"),
        ({"url": "https://p.example/"}, "event_kinds"),
        ({"url": "https://p.example/", "event_kinds": ["*"], "description": "x" * 201}, "description"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(tenant, alpha_api, data, field):
    response = _post(alpha_api, "/api/v1/webhooks/", data)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == [field]
    with schema_context(tenant.schema_name):
        assert not WebhookSubscription.objects.exists()


def test_create_refuses_a_private_address_when_the_setting_forbids_it(alpha_api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

    response = _post(alpha_api, "/api/v1/webhooks/", {"url": "http://127.0.0.1:9000/", "event_kinds": ["*"]})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"url": ["The URL resolves to a private or reserved address."]}


# --- list, get ----------------------------------------------------------------------------------------------------


def test_list_and_get(tenant, bravo_subscription, alpha_api):
    with schema_context(tenant.schema_name):
        first, _ = webhook_subscription_create(url="https://a.example/1", event_kinds=["fault.opened"])
        second, _ = webhook_subscription_create(url="https://a.example/2", event_kinds=["*"], description="All")

    listed = alpha_api.get("/api/v1/webhooks/?page_size=1")
    page_two = alpha_api.get(listed.json()["next"])
    detail = alpha_api.get(f"/api/v1/webhooks/{second.pk}/")

    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"] + page_two.json()["results"]] == [first.pk, second.pk]
    assert page_two.json()["next"] is None  # bravo's subscription is not in alpha's list
    assert detail.status_code == 200
    assert detail.json() == {
        "id": second.pk,
        "url": "https://a.example/2",
        "event_kinds": ["*"],
        "description": "All",
        "is_active": True,
        "disabled_at": None,
        "disabled_reason": "",
        "consecutive_failures": 0,
        "client_id": "",
        "created_at": detail.json()["created_at"],
        "updated_at": detail.json()["updated_at"],
    }


def test_an_unknown_id_is_not_found(alpha_api):
    assert alpha_api.get("/api/v1/webhooks/999999/").status_code == 404


# --- update, delete, rotate ---------------------------------------------------------------------------------------


def test_update_changes_what_is_given(tenant, subscription, alpha_api):
    response = _patch(alpha_api, f"/api/v1/webhooks/{subscription.pk}/", {"event_kinds": ["fault.opened"]})

    assert response.status_code == 200
    assert response.json()["event_kinds"] == ["fault.opened"]
    assert response.json()["url"] == subscription.url
    with schema_context(tenant.schema_name):
        assert WebhookSubscription.objects.get().event_kinds == ["fault.opened"]


def test_update_disables_and_re_enables(tenant, subscription, alpha_api):
    off = _patch(alpha_api, f"/api/v1/webhooks/{subscription.pk}/", {"is_active": False})
    with schema_context(tenant.schema_name):
        WebhookSubscription.objects.update(consecutive_failures=3)
    on = _patch(alpha_api, f"/api/v1/webhooks/{subscription.pk}/", {"is_active": True})

    assert (off.json()["is_active"], off.json()["disabled_reason"]) == (False, "Disabled by hand.")
    assert off.json()["disabled_at"] is not None
    assert on.json()["is_active"] is True
    assert (on.json()["disabled_at"], on.json()["disabled_reason"], on.json()["consecutive_failures"]) == (None, "", 0)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"url": "gopher://x.example/"}, "url"),
        ({"event_kinds": ["nope"]}, "event_kinds"),
        ({"event_kinds": []}, "event_kinds"),
        ({"is_active": "perhaps"}, "is_active"),
    ],
)
def test_update_refuses_bad_input_naming_the_field(tenant, subscription, alpha_api, data, field):
    response = _patch(alpha_api, f"/api/v1/webhooks/{subscription.pk}/", data)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    with schema_context(tenant.schema_name):
        kept = WebhookSubscription.objects.get()
    assert (kept.url, kept.event_kinds, kept.is_active) == (subscription.url, ["session.ended"], True)


def test_delete_removes_the_subscription_and_its_deliveries(
    tenant, subscription, alpha_api, django_capture_on_commit_callbacks
):
    _delivery_of(tenant, django_capture_on_commit_callbacks)

    response = alpha_api.delete(f"/api/v1/webhooks/{subscription.pk}/")

    assert response.status_code == 204
    with schema_context(tenant.schema_name):
        assert not WebhookSubscription.objects.exists() and not WebhookDelivery.objects.exists()
    assert alpha_api.get(f"/api/v1/webhooks/{subscription.pk}/").status_code == 404


def test_rotate_secret_returns_a_new_one_that_signs_from_now_on_beside_the_old_one_for_a_while(
    tenant, subscription, alpha_api, receiver, django_capture_on_commit_callbacks
):
    response = _post(alpha_api, f"/api/v1/webhooks/{subscription.pk}/rotate-secret/")

    assert response.status_code == 200
    secret = response.json()["secret"]
    assert secret.startswith("whsec_") and secret != subscription.secret
    _delivery_of(tenant, django_capture_on_commit_callbacks)
    [request] = receiver.requests
    assert webhook_verify(secret, request.raw_headers, request.body)
    # The overlap (tests/api/test_webhooks_delivery.py): the old secret verifies for 24 hours.
    assert webhook_verify(subscription.secret, request.raw_headers, request.body)


# --- deliveries, replay, ping -------------------------------------------------------------------------------------


def test_deliveries_are_listed_newest_first_with_their_attempts(
    tenant, subscription, alpha_api, receiver, django_capture_on_commit_callbacks
):
    receiver.status = 500
    older = _delivery_of(tenant, django_capture_on_commit_callbacks)
    receiver.status = 200
    newer = _delivery_of(tenant, django_capture_on_commit_callbacks)

    response = alpha_api.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/")
    failing = alpha_api.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/?status=pending")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [newer.pk, older.pk]
    assert rows[0]["event_id"] == str(newer.event_id) and rows[0]["event_type"] == "session.ended"
    assert rows[0]["data"] == {"station_id": 3, "session_id": 9}
    assert (rows[0]["status"], rows[0]["attempt_count"], rows[0]["next_attempt_at"]) == ("succeeded", 1, None)
    [attempt] = rows[1]["attempts"]
    assert (attempt["status_code"], attempt["error"], attempt["response_excerpt"]) == (500, "HTTP 500", "thanks")
    assert attempt["manual"] is False and attempt["duration_ms"] >= 0
    assert rows[1]["status"] == "pending" and rows[1]["next_attempt_at"] is not None
    assert [row["id"] for row in failing.json()["results"]] == [older.pk]


def test_deliveries_refuse_an_unknown_status_filter(subscription, alpha_api):
    response = alpha_api.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/?status=lost")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["status"]


def test_replay_sends_the_same_event_again(
    tenant, subscription, alpha_api, receiver, django_capture_on_commit_callbacks
):
    receiver.status = 500
    delivery = _delivery_of(tenant, django_capture_on_commit_callbacks)
    receiver.status = 200

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(alpha_api, f"/api/v1/webhooks/{subscription.pk}/deliveries/{delivery.pk}/replay/")

    assert response.status_code == 202
    assert response.json()["id"] == delivery.pk and response.json()["event_id"] == str(delivery.event_id)
    first, again = receiver.requests
    assert first.headers["Webhook-Id"] == again.headers["Webhook-Id"] == str(delivery.event_id)
    assert again.body == first.body
    with schema_context(tenant.schema_name):
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempt_count) == ("succeeded", 2)
        assert [a.status_code for a in delivery.attempts.all()] == [500, 200]


def test_replay_of_a_delivery_of_another_subscription_is_not_found(
    tenant, subscription, alpha_api, django_capture_on_commit_callbacks
):
    delivery = _delivery_of(tenant, django_capture_on_commit_callbacks)
    with schema_context(tenant.schema_name):
        other, _ = webhook_subscription_create(url="https://other.example/", event_kinds=["fault.opened"])

    response = _post(alpha_api, f"/api/v1/webhooks/{other.pk}/deliveries/{delivery.pk}/replay/")

    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_ping_answers_with_the_delivery_and_its_attempt(tenant, receiver):
    with schema_context(tenant.schema_name):
        subscription, secret = webhook_subscription_create(url=receiver.url(), event_kinds=["fault.opened"])
    client = api_client(HOST, key_in(tenant, scopes=["webhooks:manage"]))

    response = _post(client, f"/api/v1/webhooks/{subscription.pk}/ping/")

    assert response.status_code == 202
    body = response.json()
    assert (body["event_type"], body["status"], body["attempt_count"]) == ("webhook.ping", "succeeded", 1)
    assert body["attempts"][0]["status_code"] == 200
    [request] = receiver.requests
    assert request.headers["Webhook-Id"] == body["event_id"]
    assert webhook_verify(secret, request.raw_headers, request.body)
    assert json.loads(request.body)["data"]["subscription_id"] == subscription.pk
