"""Web Push: a driver's browser subscribes with the brand's VAPID key, and when their session ends a push service (a
real HTTP stand-in, tests/pwa/push_service.py) receives a VAPID-signed, aes128gcm-encrypted message that the browser's
keys decrypt to the session's summary. Gone subscriptions are dropped; failures never reach the station's path."""

from decimal import Decimal

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.pwa.models import PushSubscription, VapidKey
from apps.pwa.push import push_send, vapid_public_key
from apps.sessions.models import ChargingSession
from tests.accounts.rbac import signed_in, staff_of
from tests.api.drivers import ALPHA, app_of, driver_of
from tests.billing.factories import BILLING_ELEMENTS, session_charged
from tests.pwa.push_service import Browser, b64url_decode, serving
from tests.sessions.factories import IdTokenFactory
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import ConnectorFactory, TariffAssignmentFactory


@pytest.fixture
def push_service():
    yield from serving()


def subscribe(app: Client, subscription: dict):
    return app.post("/api/v1/me/push-subscriptions/", subscription, content_type="application/json")


def charge(tenant, uid: str, capture, *, meter_stop_wh=Decimal(12000)) -> ChargingSession:
    """A session with `uid` at a priced station, started and stopped as a station reports them."""
    with schema_context(tenant.schema_name):
        connector = ConnectorFactory(evse__station=StationFactory(location=LocationFactory(name="Depot")))
        TariffAssignmentFactory(location=connector.evse.station.location, tariff__elements=BILLING_ELEMENTS)
        return session_charged(connector.evse.station, uid, capture, meter_stop_wh=meter_stop_wh)


# The brand's key and subscribing


def test_the_app_gets_the_brands_vapid_public_key_the_same_each_time_and_another_brands_differs(tenant, outsider):
    alpha = app_of(tenant, driver_of(tenant))
    bravo = app_of(outsider, driver_of(outsider), host="bravo.localhost")

    first = alpha.get("/api/v1/me/push/").json()["vapid_public_key"]
    second = alpha.get("/api/v1/me/push/").json()["vapid_public_key"]
    other = bravo.get("/api/v1/me/push/").json()["vapid_public_key"]

    point = b64url_decode(first)
    assert len(point) == 65 and point[0] == 4  # an uncompressed P-256 point, as applicationServerKey wants
    assert first == second and first != other
    with schema_context(tenant.schema_name):
        assert VapidKey.objects.count() == 1
        assert "PRIVATE KEY" in VapidKey.objects.get().private_key_pem


def test_a_browser_subscribes_and_unsubscribes(tenant, push_service):
    user = driver_of(tenant)
    app = app_of(tenant, user)
    endpoint = push_service.endpoint("/push/a", Browser())
    browser_json = Browser().subscription(endpoint)

    created = subscribe(app, browser_json)

    assert created.status_code == 201 and created.json()["endpoint"] == endpoint
    with schema_context(tenant.schema_name):
        stored = PushSubscription.objects.get()
        assert (stored.user_id, stored.p256dh, stored.auth) == (user.pk, *browser_json["keys"].values())
    assert subscribe(app, browser_json).status_code == 201  # the browser renews it: still one
    assert (
        app_of(tenant, driver_of(tenant)).delete(f"/api/v1/me/push-subscriptions/?endpoint={endpoint}").status_code
        == 404
    )
    assert app.delete(f"/api/v1/me/push-subscriptions/?endpoint={endpoint}").status_code == 204
    assert app.delete(f"/api/v1/me/push-subscriptions/?endpoint={endpoint}").status_code == 404
    with schema_context(tenant.schema_name):
        assert not PushSubscription.objects.exists()


def test_the_same_browser_signed_in_as_someone_else_takes_the_subscription_over(tenant, push_service):
    first, second = driver_of(tenant), driver_of(tenant)
    subscription = Browser().subscription(push_service.endpoint("/push/shared", Browser()))

    subscribe(app_of(tenant, first), subscription)
    subscribe(app_of(tenant, second), subscription)

    with schema_context(tenant.schema_name):
        assert list(PushSubscription.objects.values_list("user_id", flat=True)) == [second.pk]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "http://push.example.com/x"}, "endpoint"),
        ({"endpoint": "ftp://push.example.com/x"}, "endpoint"),
        ({"endpoint": "not a url"}, "endpoint"),
        ({"endpoint": "https://10.0.0.7/push/x"}, "endpoint"),
        ({"endpoint": "https://169.254.169.254/latest/meta-data"}, "endpoint"),
        ({"endpoint": "https://[fd00::1]/x"}, "endpoint"),
        ({"endpoint": "https://intranet.localhost/x"}, "endpoint"),
        ({"endpoint": "https://user:pw@push.example.com/x"}, "endpoint"),
        ({"keys": {"p256dh": "AAAA", "auth": "c2VjcmV0c2VjcmV0c2VjcmV0"}}, "keys"),
        ({"keys": {"p256dh": Browser().p256dh, "auth": "short"}}, "keys"),
        ({"keys": {"p256dh": "!!!not base64!!!", "auth": "c2VjcmV0c2VjcmV0"}}, "keys"),
        ({"keys": None}, "keys"),
    ],
)
def test_a_subscription_that_is_not_a_browsers_is_refused(tenant, change, field):
    app = app_of(tenant, driver_of(tenant))
    subscription = Browser().subscription("https://push.example.com/send/abc") | change

    refused = subscribe(app, subscription)

    assert refused.status_code == 400, refused.content
    assert field in refused.json()["error"]["fields"]
    with schema_context(tenant.schema_name):
        assert not PushSubscription.objects.exists()


def test_in_production_only_https_endpoints_are_accepted(tenant, push_service, settings):
    settings.WEB_PUSH_ALLOW_HTTP_LOCALHOST = False
    app = app_of(tenant, driver_of(tenant))

    refused = subscribe(app, Browser().subscription(push_service.endpoint("/push/a", Browser())))
    accepted = subscribe(app, Browser().subscription("https://fcm.googleapis.com/fcm/send/abc"))

    assert refused.status_code == 400 and "endpoint" in refused.json()["error"]["fields"]
    assert accepted.status_code == 201


def test_subscribing_needs_a_drivers_token_with_me_write(tenant):
    assert Client(HTTP_HOST=ALPHA).post("/api/v1/me/push-subscriptions/", {}).status_code == 401


# The push when a session ends


def test_the_driver_is_pushed_the_end_of_their_session_with_energy_and_cost(
    tenant, push_service, django_capture_on_commit_callbacks
):
    user = driver_of(tenant)
    app = app_of(tenant, user)
    phone, laptop = Browser(), Browser()
    subscribe(app, phone.subscription(push_service.endpoint("/push/phone", phone)))
    subscribe(app, laptop.subscription(push_service.endpoint("/push/laptop", laptop)))
    with schema_context(tenant.schema_name):
        IdTokenFactory(uid="04A1B2C3", owner=user)
        brand_key = vapid_public_key()

    session = charge(tenant, "04A1B2C3", django_capture_on_commit_callbacks)

    assert push_service.refused == []
    assert sorted(item.path for item in push_service.received) == ["/push/laptop", "/push/phone"]
    for item in push_service.received:
        assert item.vapid_key == brand_key and item.claims["aud"] == push_service.origin
        assert int(item.headers["ttl"]) > 0
        payload = item.payload
        assert payload["title"] == "Charging finished"
        assert payload["url"] == f"/app/sessions/{session.pk}" and payload["session_id"] == session.pk
        # 11 kWh × 0.35 + 0.50 fee = 4.35 excl., 5.26 incl. 21 % VAT (tests/billing/test_pipeline.py)
        assert payload["body"] == "11.00 kWh charged, 5.26 EUR. Your receipt is ready."
        assert payload["cost"] == {"currency": "EUR", "amount_incl_vat": "5.26"}
    with schema_context(tenant.schema_name):
        assert all(s.last_success_at is not None for s in PushSubscription.objects.all())


def test_a_subscription_the_browser_gave_up_is_deleted_and_the_others_still_get_it(
    tenant, push_service, django_capture_on_commit_callbacks
):
    user = driver_of(tenant)
    app = app_of(tenant, user)
    gone, kept = Browser(), Browser()
    subscribe(app, gone.subscription(push_service.endpoint("/push/gone", gone)))
    subscribe(app, kept.subscription(push_service.endpoint("/push/kept", kept)))
    push_service.statuses["/push/gone"] = 410
    with schema_context(tenant.schema_name):
        IdTokenFactory(uid="04A1B2C3", owner=user)

    session = charge(tenant, "04A1B2C3", django_capture_on_commit_callbacks)

    assert session.status == ChargingSession.Status.COMPLETED
    assert sorted(item.path for item in push_service.received) == ["/push/gone", "/push/kept"]
    with schema_context(tenant.schema_name):
        assert [s.endpoint for s in PushSubscription.objects.all()] == [f"{push_service.origin}/push/kept"]


def test_a_failing_push_service_is_counted_not_raised_and_the_session_still_ends(
    tenant, push_service, django_capture_on_commit_callbacks
):
    user = driver_of(tenant)
    app = app_of(tenant, user)
    flaky = Browser()
    subscribe(app, flaky.subscription(push_service.endpoint("/push/flaky", flaky)))
    subscribe(app, Browser().subscription("http://127.0.0.1:9/nobody-listens"))
    push_service.statuses["/push/flaky"] = 500
    with schema_context(tenant.schema_name):
        IdTokenFactory(uid="04A1B2C3", owner=user)

    session = charge(tenant, "04A1B2C3", django_capture_on_commit_callbacks)

    assert session.status == ChargingSession.Status.COMPLETED and session.cdrs.exists()
    with schema_context(tenant.schema_name):
        failures = dict(PushSubscription.objects.values_list("endpoint", "failures"))
    assert failures == {f"{push_service.origin}/push/flaky": 1, "http://127.0.0.1:9/nobody-listens": 1}


def test_a_subscription_failing_again_and_again_is_dropped(tenant, push_service):
    user = driver_of(tenant)
    flaky = Browser()
    subscribe(app_of(tenant, user), flaky.subscription(push_service.endpoint("/push/flaky", flaky)))
    push_service.statuses["/push/flaky"] = 503

    with schema_context(tenant.schema_name):
        for _ in range(10):
            assert push_send(subscription=PushSubscription.objects.get(), payload={"title": "t"}) is False
        assert not PushSubscription.objects.exists()


def test_only_the_sessions_driver_is_pushed(tenant, push_service, django_capture_on_commit_callbacks):
    driver, other = driver_of(tenant), driver_of(tenant)
    theirs = Browser()
    subscribe(app_of(tenant, other), theirs.subscription(push_service.endpoint("/push/other", theirs)))
    with schema_context(tenant.schema_name):
        IdTokenFactory(uid="04A1B2C3", owner=driver)
        IdTokenFactory(uid="0000AAAA")  # the brand's card, nobody's

    charge(tenant, "04A1B2C3", django_capture_on_commit_callbacks)
    charge(tenant, "0000AAAA", django_capture_on_commit_callbacks)

    assert push_service.received == []


# The admin


def test_operators_see_subscriptions_read_only_in_the_admin(tenant, push_service):
    user = driver_of(tenant, email="dora@alpha.test")
    phone = Browser()
    subscribe(app_of(tenant, user), phone.subscription(push_service.endpoint("/push/phone", phone)))
    admin = signed_in(tenant, staff_of(tenant, Role.OWNER))

    page = admin.get("/admin/pwa/pushsubscription/")

    assert page.status_code == 200 and "127.0.0.1" in page.content.decode()
    assert admin.get("/admin/pwa/pushsubscription/add/").status_code == 403
