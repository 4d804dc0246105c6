"""A driver's own account in the app: who they are, their RFID cards and their payment methods (/api/v1/me/…). Only a
token the driver authorized may use it, and it shows and changes only their own things."""

import pytest
import stripe
from django.test import Client
from django_tenants.utils import schema_context

from apps.api.throttling import ApiClientRateThrottle
from apps.billing.models import Payment, PaymentCustomer, PaymentCustomerToken, StoredPaymentMethod
from apps.billing.services.drivers import driver_tokens_link
from apps.billing.services.sessions import SESSION_PAYMENT_PURPOSE, session_payment_authorise
from apps.sessions.models import IdToken
from tests.api.conftest import key_in
from tests.api.drivers import ALPHA, app_of, app_token, driver_of
from tests.billing.factories import AdyenAccountFactory, StripeAccountFactory
from tests.billing.fakes import FakeStripe
from tests.sessions.factories import ChargingSessionFactory, IdTokenFactory

BRAVO = "bravo.localhost"


@pytest.fixture
def stripe_api(monkeypatch) -> FakeStripe:
    fake = FakeStripe()
    monkeypatch.setattr(stripe, "default_http_client", fake)
    return fake


def post(client: Client, path: str, body: dict):
    return client.post(path, body, content_type="application/json")


def error_of(response) -> dict:
    return response.json()["error"]


# Who may use /me/


def test_me_is_the_driver_the_token_acts_for(tenant):
    user = driver_of(tenant, first_name="Dora", last_name="Diesel", locale="de")

    body = app_of(tenant, user).get("/api/v1/me/").json()

    assert body == {"id": user.pk, "email": user.email, "name": "Dora Diesel", "language": "de"}


def test_an_api_key_cannot_act_as_a_driver(tenant):
    api = Client(HTTP_HOST=ALPHA, HTTP_AUTHORIZATION=f"Bearer {key_in(tenant)}")

    for path in ("/api/v1/me/", "/api/v1/me/cards/", "/api/v1/me/payment-methods/", "/api/v1/me/push/"):
        response = api.get(path)
        assert response.status_code == 403, path
        assert "signed-in person" in error_of(response)["message"]


def test_without_a_token_me_is_401_and_a_read_only_token_cannot_write(tenant):
    reader = app_of(tenant, scopes=["me:read"])

    assert Client(HTTP_HOST=ALPHA).get("/api/v1/me/").status_code == 401
    assert reader.get("/api/v1/me/cards/").status_code == 200
    refused = post(reader, "/api/v1/me/cards/", {"uid": "04A1B2C3"})
    assert refused.status_code == 403 and error_of(refused)["code"] == "scope_missing"


def test_a_token_of_one_brand_is_unknown_on_another(tenant, outsider):
    user = driver_of(tenant)
    token = app_token(tenant, user)

    response = Client(HTTP_HOST=BRAVO, HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/me/")

    assert response.status_code == 401


# Cards


def test_a_driver_adds_a_card_and_sees_it_in_their_list(tenant):
    user = driver_of(tenant)
    app = app_of(tenant, user)

    added = post(app, "/api/v1/me/cards/", {"uid": "04:a1:b2:c3:d4:e5:f6", "label": "Blue keyfob"})

    assert added.status_code == 201
    card = added.json()
    assert (card["uid"], card["label"], card["status"]) == ("04A1B2C3D4E5F6", "Blue keyfob", "Accepted")
    assert [item["id"] for item in app.get("/api/v1/me/cards/").json()["results"]] == [card["id"]]
    with schema_context(tenant.schema_name):
        token = IdToken.objects.get(pk=card["id"])
        assert (token.owner_id, token.type) == (user.pk, IdToken.Type.ISO14443)


def test_a_card_someone_else_holds_is_refused_without_saying_whose(tenant):
    with schema_context(tenant.schema_name):
        IdTokenFactory(uid="04a1b2c3", label="Fleet card of Ann Smith")
    app = app_of(tenant)

    refused = post(app, "/api/v1/me/cards/", {"uid": "04A1B2C3"})

    assert refused.status_code == 400
    message = " ".join(error_of(refused)["fields"]["uid"])
    assert "already registered" in message and "Ann" not in message and "Fleet" not in message
    assert app.get("/api/v1/me/cards/").json()["results"] == []


@pytest.mark.parametrize("uid", ["", "04A1B2", "04A1B2C3D4", "ZZZZZZZZ", "04A1B2C3D4E5F60718293A4B", "'; DROP"])
def test_a_card_number_that_is_not_a_cards_is_refused(tenant, uid):
    app = app_of(tenant)

    refused = post(app, "/api/v1/me/cards/", {"uid": uid})

    assert refused.status_code == 400 and "uid" in error_of(refused)["fields"]


def test_a_driver_has_at_most_ten_cards(tenant):
    app = app_of(tenant)
    for n in range(10):
        assert post(app, "/api/v1/me/cards/", {"uid": f"{n:08X}"}).status_code == 201

    refused = post(app, "/api/v1/me/cards/", {"uid": "0000FFFF"})

    assert refused.status_code == 400 and "remove one" in error_of(refused)["fields"]["uid"][0]


def test_removing_a_card_blocks_it_and_another_driver_cannot_remove_it(tenant):
    owner, other = driver_of(tenant), driver_of(tenant)
    app = app_of(tenant, owner)
    card = post(app, "/api/v1/me/cards/", {"uid": "04A1B2C3"}).json()

    assert app_of(tenant, other).delete(f"/api/v1/me/cards/{card['id']}/").status_code == 404
    removed = app.delete(f"/api/v1/me/cards/{card['id']}/")

    assert removed.status_code == 204
    assert app.get("/api/v1/me/cards/").json()["results"] == []
    assert app.delete(f"/api/v1/me/cards/{card['id']}/").status_code == 404
    with schema_context(tenant.schema_name):
        token = IdToken.objects.get(pk=card["id"])
        assert (token.status, token.owner_id) == (IdToken.Status.BLOCKED, None)


def test_a_driver_sees_only_their_own_cards(tenant):
    owner, other = driver_of(tenant), driver_of(tenant)
    post(app_of(tenant, owner), "/api/v1/me/cards/", {"uid": "04A1B2C3"})
    with schema_context(tenant.schema_name):
        IdTokenFactory(uid="0000AAAA")  # the brand's, nobody's

    assert app_of(tenant, other).get("/api/v1/me/cards/").json()["results"] == []


# Payment methods


def test_without_an_active_payment_account_there_is_nothing_to_set_up_and_adding_is_409(tenant):
    with schema_context(tenant.schema_name):
        StripeAccountFactory(is_active=False)
    app = app_of(tenant)

    setup = app.get("/api/v1/me/payment-methods/setup/")
    refused = post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_visa"})

    assert setup.json() == {"provider": None, "publishable_key": "", "sandbox": False}
    assert refused.status_code == 409 and error_of(refused)["code"] == "payments_unavailable"
    assert app.get("/api/v1/me/payment-methods/").json()["results"] == []


def test_setup_names_the_brands_provider_and_publishable_key(tenant):
    with schema_context(tenant.schema_name):
        StripeAccountFactory(publishable_key="pk_test_alpha")

    setup = app_of(tenant).get("/api/v1/me/payment-methods/setup/").json()

    assert setup == {"provider": "stripe", "publishable_key": "pk_test_alpha", "sandbox": False}


def test_the_first_card_makes_the_driver_a_customer_is_the_default_and_pays_for_their_cards(tenant, stripe_api):
    user = driver_of(tenant, first_name="Dora", last_name="Diesel")
    app = app_of(tenant, user)
    card = post(app, "/api/v1/me/cards/", {"uid": "04A1B2C3"}).json()
    with schema_context(tenant.schema_name):
        StripeAccountFactory()

    added = post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_visa"})

    assert added.status_code == 201
    method = added.json()
    assert {key: method[key] for key in ("brand", "last4", "expiry_month", "expiry_year", "is_default")} == {
        "brand": "visa",
        "last4": "4242",
        "expiry_month": 12,
        "expiry_year": 2031,
        "is_default": True,
    }
    create, attach = stripe_api.requests
    assert create.path == "/v1/customers" and create.params["email"] == user.email
    assert create.params["name"] == "Dora Diesel"
    assert attach.path == "/v1/payment_methods/pm_card_visa/attach"
    with schema_context(tenant.schema_name):
        customer = PaymentCustomer.objects.get(user=user)
        assert PaymentCustomerToken.objects.get(id_token_id=card["id"]).customer == customer


def test_a_session_with_the_drivers_card_gets_a_hold_on_their_default_method(tenant, stripe_api):
    user = driver_of(tenant)
    app = app_of(tenant, user)
    with schema_context(tenant.schema_name):
        StripeAccountFactory()
    post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_visa"})
    post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_mastercard"})
    card = post(app, "/api/v1/me/cards/", {"uid": "04A1B2C3"}).json()  # added after the methods: linked too

    with schema_context(tenant.schema_name):
        session = ChargingSessionFactory(id_token_id=card["id"], id_token_uid="04A1B2C3")
        payment = session_payment_authorise(session_id=session.pk)

        assert payment is not None and payment.status == Payment.Status.AUTHORISED
        assert (payment.purpose, payment.reference) == (SESSION_PAYMENT_PURPOSE, str(session.pk))
        assert payment.payment_method.provider_reference == "pm_card_visa"  # the first stays the default


def test_a_second_method_is_not_the_default_until_chosen(tenant, stripe_api):
    app = app_of(tenant)
    with schema_context(tenant.schema_name):
        StripeAccountFactory()
    first = post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_visa"}).json()
    second = post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_mastercard"}).json()

    assert second["is_default"] is False
    chosen = post(app, f"/api/v1/me/payment-methods/{second['id']}/default/", {})

    assert chosen.status_code == 200 and chosen.json()["is_default"] is True
    listed = app.get("/api/v1/me/payment-methods/").json()["results"]
    assert [(item["id"], item["is_default"]) for item in listed] == [(second["id"], True), (first["id"], False)]


def test_adding_the_default_method_again_keeps_it_the_default(tenant, stripe_api):
    app = app_of(tenant)
    with schema_context(tenant.schema_name):
        StripeAccountFactory()
    first = post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_visa"}).json()

    again = post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_visa"}).json()

    assert again["id"] == first["id"] and again["is_default"] is True
    assert len(app.get("/api/v1/me/payment-methods/").json()["results"]) == 1


def test_deleting_the_default_method_makes_another_one_default(tenant, stripe_api):
    app = app_of(tenant)
    with schema_context(tenant.schema_name):
        StripeAccountFactory()
    first = post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_visa"}).json()
    second = post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_mastercard"}).json()

    assert app.delete(f"/api/v1/me/payment-methods/{first['id']}/").status_code == 204

    listed = app.get("/api/v1/me/payment-methods/").json()["results"]
    assert [(item["id"], item["is_default"]) for item in listed] == [(second["id"], True)]
    assert app.delete(f"/api/v1/me/payment-methods/{first['id']}/").status_code == 404


def test_another_drivers_method_is_unknown(tenant, stripe_api):
    with schema_context(tenant.schema_name):
        StripeAccountFactory()
    owner_app, other_app = app_of(tenant), app_of(tenant)
    method = post(owner_app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_visa"}).json()

    assert other_app.delete(f"/api/v1/me/payment-methods/{method['id']}/").status_code == 404
    assert post(other_app, f"/api/v1/me/payment-methods/{method['id']}/default/", {}).status_code == 404
    assert other_app.get("/api/v1/me/payment-methods/").json()["results"] == []
    with schema_context(tenant.schema_name):
        assert StoredPaymentMethod.objects.filter(pk=method["id"]).exists()


def test_a_method_the_provider_refuses_is_a_400_and_nothing_is_stored(tenant, stripe_api):
    with schema_context(tenant.schema_name):
        StripeAccountFactory()
    app = app_of(tenant)
    post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_visa"})
    stripe_api.fail_next = (402, {"error": {"type": "card_error", "code": "card_declined", "message": "Declined."}})

    refused = post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_declined"})

    assert refused.status_code == 400
    assert error_of(refused)["fields"]["provider_reference"] == ["The payment provider refused this payment method."]
    assert len(app.get("/api/v1/me/payment-methods/").json()["results"]) == 1


@pytest.mark.parametrize("body", [{}, {"provider_reference": ""}, {"provider_reference": "pm card"}, {"x": 1}])
def test_a_malformed_payment_method_is_refused_before_the_provider_is_asked(tenant, stripe_api, body):
    with schema_context(tenant.schema_name):
        StripeAccountFactory()

    refused = post(app_of(tenant), "/api/v1/me/payment-methods/", body)

    assert refused.status_code == 400 and "provider_reference" in error_of(refused)["fields"]
    assert stripe_api.requests == []


def test_adyen_is_named_when_it_is_the_brands_only_active_account(tenant):
    with schema_context(tenant.schema_name):
        AdyenAccountFactory()

    setup = app_of(tenant).get("/api/v1/me/payment-methods/setup/").json()

    assert setup["provider"] == "adyen"


def test_linking_a_drivers_tokens_is_idempotent_and_leaves_others_arrangements_alone(tenant, stripe_api):
    user = driver_of(tenant)
    app = app_of(tenant, user)
    with schema_context(tenant.schema_name):
        StripeAccountFactory()
        fleet = PaymentCustomer.objects.create(
            account=StripeAccountFactory(), provider_reference="cus_fleet", email="fleet@example.test"
        )
        fleet_card = IdTokenFactory(uid="0000BBBB", owner=user)
        PaymentCustomerToken.objects.create(customer=fleet, id_token=fleet_card)
        app_token_row = IdTokenFactory(uid="APP-TOKEN-1", type=IdToken.Type.CENTRAL, owner=user)
    post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_visa"})

    with schema_context(tenant.schema_name):
        assert driver_tokens_link(user) == 0  # already linked by the first method
        customer = PaymentCustomer.objects.get(user=user)
        assert PaymentCustomerToken.objects.get(id_token=app_token_row).customer == customer
        assert PaymentCustomerToken.objects.get(id_token=fleet_card).customer == fleet


def test_a_removed_card_no_longer_bills_the_driver(tenant, stripe_api):
    user = driver_of(tenant)
    app = app_of(tenant, user)
    with schema_context(tenant.schema_name):
        StripeAccountFactory()
    post(app, "/api/v1/me/payment-methods/", {"provider_reference": "pm_card_visa"})
    card = post(app, "/api/v1/me/cards/", {"uid": "04A1B2C3"}).json()

    app.delete(f"/api/v1/me/cards/{card['id']}/")

    with schema_context(tenant.schema_name):
        assert not PaymentCustomerToken.objects.filter(id_token_id=card["id"]).exists()


def test_every_driver_of_the_brands_app_has_their_own_rate_limit(tenant, settings, monkeypatch):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    settings.REDIS_URL = ""
    monkeypatch.setattr(ApiClientRateThrottle, "clock", staticmethod(lambda: 1_800_000_010.5))  # mid-window
    busy, other = app_of(tenant), app_of(tenant)

    statuses = [busy.get("/api/v1/me/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert other.get("/api/v1/me/").status_code == 200  # the same application, another person
