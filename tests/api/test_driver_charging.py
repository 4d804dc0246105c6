"""The driver app's charging endpoints: a driver's token starts and stops at an EVSE by its code and reads only the
driver's own sessions and receipts; a guest starts with a card and reaches their session with a secret."""

from decimal import Decimal

import pytest
import stripe
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.api.models import Scope
from apps.billing.models import Payment, PaymentCustomer
from apps.billing.services.cdrs import cdr_issue
from apps.billing.services.invoices import invoice_for_cdr
from apps.commands.models import Command
from apps.sessions.models import ChargingSession, GuestAccess, IdToken
from apps.sessions.services import driver_app_token, session_stop
from tests.accounts.factories import DriverFactory
from tests.accounts.rbac import api_as, person_token
from tests.api.conftest import api_client, key_in
from tests.billing.driver import online_evse, paying_driver, station_starts
from tests.billing.factories import BILLING_ELEMENTS, StripeAccountFactory
from tests.billing.fakes import DECLINED, FakeStripe
from tests.sessions.factories import ChargingSessionFactory, IdTokenFactory
from tests.tariffs.factories import TariffAssignmentFactory

ALPHA = "alpha.localhost"
DRIVER_SCOPES = [Scope.ME_READ, Scope.ME_WRITE]


@pytest.fixture(autouse=True)
def stripe_api(monkeypatch) -> FakeStripe:
    fake = FakeStripe()
    monkeypatch.setattr(stripe, "default_http_client", fake)
    return fake


def driver_api(tenant, user=None, scopes=DRIVER_SCOPES) -> tuple[Client, object]:
    with schema_context(tenant.schema_name):
        user = user or DriverFactory()
    return api_as(tenant, person_token(tenant, user, scopes)), user


def in_alpha(tenant, build):
    with schema_context(tenant.schema_name):
        return build()


def code_of(evse) -> str:
    return f"ALPHA*{evse.station.identity}*{evse.evse_id}"


def start(client, evse, **body):
    return client.post("/api/v1/me/charges/", {"evse": code_of(evse), **body}, content_type="application/json")


def error_code(response) -> str:
    return response.json()["error"]["code"]


# --- start --------------------------------------------------------------------------------------------------------


def test_a_driver_starts_at_an_evse_by_its_code_and_sees_the_start_pending(tenant, station):
    client, driver = driver_api(tenant)
    evse = in_alpha(tenant, online_evse)
    response = start(client, evse)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["session"] is None and body["command"]["status"] == "accepted"
    assert body["pending_id"] == body["command"]["id"]
    with schema_context(tenant.schema_name):
        assert station.sent[0].params["id_token"] == driver_app_token(driver).uid
        assert station.sent[0].requested_by == driver
    current = client.get("/api/v1/me/sessions/current/")
    assert current.status_code == 200 and current.json() == {"pending": True, "pending_id": body["pending_id"]}


def test_a_start_with_payments_holds_the_brands_amount_before_the_station_is_asked(tenant, station, settings):
    settings.DRIVER_APP_HOLD_AMOUNT = 2500
    with schema_context(tenant.schema_name):
        user, evse = paying_driver(), online_evse()
    client, _ = driver_api(tenant, user)
    assert start(client, evse).status_code == 202
    with schema_context(tenant.schema_name):
        payment = Payment.objects.get()
        assert (payment.status, payment.amount_authorised) == (Payment.Status.AUTHORISED, 2500)


@pytest.mark.parametrize(
    ("build", "status", "code"),
    [
        (lambda: online_evse(status="Faulted"), 409, "connector_faulted"),
        (lambda: online_evse(status="Charging"), 409, "connector_occupied"),
        (lambda: online_evse(status="Reserved"), 409, "connector_reserved"),
        (lambda: online_evse(is_online=False), 409, "station_offline"),
        (lambda: online_evse(status="Unavailable"), 409, "connector_unavailable"),
    ],
)
def test_an_evse_that_cannot_start_is_refused_with_its_code_and_nothing_is_sent(tenant, station, build, status, code):
    client, _ = driver_api(tenant)
    response = start(client, in_alpha(tenant, build))
    assert (response.status_code, error_code(response)) == (status, code)
    assert station.sent == []


def test_without_a_payment_method_the_start_is_a_402_and_a_declined_card_too(tenant, station):
    with schema_context(tenant.schema_name):
        StripeAccountFactory()
        evse = online_evse()
    client, _ = driver_api(tenant)
    response = start(client, evse)
    assert (response.status_code, error_code(response)) == (402, "payment_method_required")
    declined, _ = driver_api(tenant, in_alpha(tenant, lambda: paying_driver(method=DECLINED)))
    response = start(declined, evse)
    assert (response.status_code, error_code(response)) == (402, "payment_declined")
    assert station.sent == []
    with schema_context(tenant.schema_name):
        assert not Payment.objects.filter(status=Payment.Status.AUTHORISED).exists()


@pytest.mark.parametrize(
    ("outcome", "status", "code"), [("rejected", 409, "start_rejected"), ("timeout", 504, "station_timeout")]
)
def test_a_start_the_station_refuses_or_ignores_answers_with_its_code(tenant, station, outcome, status, code):
    station.outcome = outcome
    client, _ = driver_api(tenant)
    response = start(client, in_alpha(tenant, online_evse))
    assert (response.status_code, error_code(response)) == (status, code)


def test_unknown_and_malformed_codes_are_404_and_another_brands_code_names_that_brand(tenant, outsider, station):
    client, _ = driver_api(tenant)
    for code in ["ALPHA*NO-SUCH*1", "garbage", "ALPHA*X*notanumber"]:
        response = client.post("/api/v1/me/charges/", {"evse": code}, content_type="application/json")
        assert (response.status_code, error_code(response)) == (404, "evse_unknown"), code
    response = client.post("/api/v1/me/charges/", {"evse": "BRAVO*BR-1*1"}, content_type="application/json")
    assert (response.status_code, error_code(response)) == (404, "evse_of_another_brand")
    brand = response.json()["error"]["brand"]
    assert brand["name"] == "Bravo Power"
    assert brand["app_url"].startswith("http") and "bravo.localhost" in brand["app_url"]
    assert brand["app_url"].endswith("/app/e/BRAVO%2ABR-1%2A1")
    assert station.sent == []


def test_bad_input_is_a_400_naming_the_field(tenant, station):
    client, _ = driver_api(tenant)
    response = client.post("/api/v1/me/charges/", {}, content_type="application/json")
    assert response.status_code == 400 and "evse" in response.json()["error"]["fields"]
    evse = in_alpha(tenant, online_evse)
    for bad in (0, "one", 99):
        response = start(client, evse, connector_id=bad)
        assert response.status_code == 400 and "connector_id" in response.json()["error"]["fields"], bad
    assert station.sent == []


def test_only_a_drivers_own_token_with_the_write_scope_may_start(tenant, outsider, station):
    evse = in_alpha(tenant, online_evse)
    read_only, _ = driver_api(tenant, scopes=[Scope.ME_READ])
    assert (start(read_only, evse).status_code, error_code(start(read_only, evse))) == (403, "scope_missing")
    api_key = api_client(ALPHA, key_in(tenant))
    assert start(api_key, evse).status_code == 403
    with schema_context(outsider.schema_name):
        bravo_user = DriverFactory()
    bravo_token = person_token(outsider, bravo_user, DRIVER_SCOPES)
    response = start(Client(HTTP_HOST=ALPHA, HTTP_AUTHORIZATION=f"Bearer {bravo_token}"), evse)
    assert (response.status_code, error_code(response)) == (401, "token_unknown")
    assert start(Client(HTTP_HOST=ALPHA), evse).status_code == 401
    assert station.sent == []


# --- sessions -----------------------------------------------------------------------------------------------------


def live_session_of(tenant, driver, *, energy_wh=7250, power_w=11000) -> ChargingSession:
    def build():
        evse = online_evse()
        TariffAssignmentFactory(location=evse.station.location, tariff__elements=BILLING_ELEMENTS)
        session = station_starts(evse, driver_app_token(driver), meter_start_wh=0)
        ChargingSession.objects.filter(pk=session.pk).update(energy_wh=Decimal(energy_wh), power_w=Decimal(power_w))
        session.refresh_from_db()
        return session

    return in_alpha(tenant, build)


def test_the_current_session_shows_energy_power_running_cost_and_that_it_can_stop(tenant):
    client, driver = driver_api(tenant)
    assert error_code(client.get("/api/v1/me/sessions/current/")) == "no_current_session"
    session = live_session_of(tenant, driver)
    body = client.get("/api/v1/me/sessions/current/").json()
    assert body["id"] == session.pk and body["status"] == "active"
    assert (body["energy_kwh"], body["power_kw"]) == ("7.250", "11.000")
    assert body["evse"] == {
        "code": code_of(session.station.evses.get()),
        "station": session.station.identity,
        "location_name": "Market Square",
    }
    assert body["cost"]["currency"] == "EUR" and Decimal(body["cost"]["amount_incl_vat"]) > Decimal("0.50")
    assert body["stoppable"] is True and body["receipt_url"] is None and body["ended_at"] is None
    assert body["duration_s"] >= 0


def test_a_driver_lists_and_reads_only_their_own_sessions(tenant):
    client, driver = driver_api(tenant)
    mine = live_session_of(tenant, driver)
    with schema_context(tenant.schema_name):
        card = IdTokenFactory(owner=driver)
        ended = ChargingSessionFactory(id_token=card, status="completed", stopped_at=timezone.now())
        someone_elses = ChargingSessionFactory(id_token=IdTokenFactory(owner=DriverFactory()))
        nobodys = ChargingSessionFactory()
    listed = client.get("/api/v1/me/sessions/").json()
    assert {s["id"] for s in listed["results"]} == {mine.pk, ended.pk}
    assert [s["id"] for s in client.get("/api/v1/me/sessions/?status=active").json()["results"]] == [mine.pk]
    assert [s["id"] for s in client.get("/api/v1/me/sessions/?status=completed").json()["results"]] == [ended.pk]
    assert client.get("/api/v1/me/sessions/?status=nonsense").status_code == 400
    assert client.get(f"/api/v1/me/sessions/{ended.pk}/").json()["status"] == "completed"
    for other in (someone_elses, nobodys):
        assert client.get(f"/api/v1/me/sessions/{other.pk}/").status_code == 404
        assert client.post(f"/api/v1/me/sessions/{other.pk}/stop/").status_code == 404
        assert client.get(f"/api/v1/me/sessions/{other.pk}/receipt.pdf").status_code == 404


def test_the_driver_stops_their_session_and_an_ended_one_is_refused(tenant, station):
    client, driver = driver_api(tenant)
    session = live_session_of(tenant, driver)
    response = client.post(f"/api/v1/me/sessions/{session.pk}/stop/")
    assert response.status_code == 202, response.content
    assert response.json()["session"]["id"] == session.pk
    assert (station.sent[-1].operation, station.sent[-1].params) == (
        "remote_stop",
        {"transaction_id": session.transaction_id},
    )
    read_only, _ = driver_api(tenant, driver, scopes=[Scope.ME_READ])
    assert read_only.post(f"/api/v1/me/sessions/{session.pk}/stop/").status_code == 403
    with schema_context(tenant.schema_name):
        ChargingSession.objects.filter(pk=session.pk).update(status="completed", stopped_at=timezone.now())
    response = client.post(f"/api/v1/me/sessions/{session.pk}/stop/")
    assert (response.status_code, error_code(response)) == (409, "session_not_active")


def test_the_receipt_is_not_ready_until_issued_then_a_pdf(tenant):
    client, driver = driver_api(tenant)
    session = live_session_of(tenant, driver)
    response = client.get(f"/api/v1/me/sessions/{session.pk}/receipt.pdf")
    assert (response.status_code, error_code(response)) == (404, "receipt_not_ready")
    with schema_context(tenant.schema_name):
        session_stop(
            station_id=session.station_id,
            transaction_id=session.transaction_id,
            meter_stop_wh=Decimal(7250),
            stopped_at=timezone.now(),
            reason="Remote",
        )
        invoice = invoice_for_cdr(cdr=cdr_issue(session=ChargingSession.objects.get(pk=session.pk)))
    body = client.get(f"/api/v1/me/sessions/{session.pk}/").json()
    assert body["receipt_url"] == f"http://{ALPHA}/api/v1/me/sessions/{session.pk}/receipt.pdf"
    assert body["cost"] == {"currency": "EUR", "amount_incl_vat": f"{invoice.total_gross:.2f}"}
    assert body["stoppable"] is False
    response = client.get(f"/api/v1/me/sessions/{session.pk}/receipt.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


# --- guests -------------------------------------------------------------------------------------------------------


def guest_start(evse, **body):
    payload = {"evse": code_of(evse), "payment_method": "pm_card_visa", **body}
    return Client(HTTP_HOST=ALPHA).post("/api/v1/guest/charges/", payload, content_type="application/json")


def as_guest(secret: str) -> Client:
    return Client(HTTP_HOST=ALPHA, HTTP_AUTHORIZATION=f"Guest {secret}")


def test_a_guest_starts_with_a_card_then_follows_stops_and_gets_the_receipt_with_the_secret(tenant, station):
    evse = in_alpha(tenant, lambda: (StripeAccountFactory(), online_evse())[1])
    response = guest_start(evse, email="guest@example.test")
    assert response.status_code == 202, response.content
    secret = response.json()["guest_token"]
    guest = as_guest(secret)
    assert guest.get("/api/v1/guest/sessions/current/").json()["pending"] is True
    with schema_context(tenant.schema_name):
        token = IdToken.objects.get(guest_access__isnull=False)
        assert GuestAccess.objects.get().secret_hash != secret
        TariffAssignmentFactory(location=evse.station.location, tariff__elements=BILLING_ELEMENTS)
        session = station_starts(evse, token)
    body = guest.get("/api/v1/guest/sessions/current/").json()
    assert body["id"] == session.pk and body["stoppable"] is True
    assert guest.post("/api/v1/guest/sessions/current/stop/").status_code == 202
    assert station.sent[-1].params == {"transaction_id": session.transaction_id}
    assert error_code(guest.get("/api/v1/guest/sessions/current/receipt.pdf")) == "receipt_not_ready"
    with schema_context(tenant.schema_name):
        session_stop(
            station_id=session.station_id,
            transaction_id=session.transaction_id,
            meter_stop_wh=Decimal(5000),
            stopped_at=timezone.now(),
            reason="Remote",
        )
        invoice_for_cdr(cdr=cdr_issue(session=ChargingSession.objects.get(pk=session.pk)))
    body = guest.get("/api/v1/guest/sessions/current/").json()
    assert body["status"] == "completed"
    assert body["receipt_url"] == f"http://{ALPHA}/api/v1/guest/sessions/current/receipt.pdf"
    assert guest.get("/api/v1/guest/sessions/current/receipt.pdf").content.startswith(b"%PDF")


def test_a_guests_declined_card_is_a_402_with_nothing_started_or_held(tenant, station):
    evse = in_alpha(tenant, lambda: (StripeAccountFactory(), online_evse())[1])
    response = guest_start(evse, payment_method=DECLINED)
    assert (response.status_code, error_code(response)) == (402, "payment_declined")
    assert "guest_token" not in response.json()
    with schema_context(tenant.schema_name):
        assert not Command.objects.exists() and not IdToken.objects.exists()
        assert list(Payment.objects.values_list("status", flat=True)) == [Payment.Status.FAILED]


def test_guest_starts_are_limited_per_address_and_a_refused_one_makes_no_customer(tenant, station, settings):
    settings.DRIVER_APP_GUEST_STARTS_PER_MINUTE = 1
    evse = in_alpha(tenant, lambda: (StripeAccountFactory(), online_evse())[1])
    assert guest_start(evse, payment_method=DECLINED).status_code == 402
    with schema_context(tenant.schema_name):
        customers = PaymentCustomer.objects.count()

    response = guest_start(evse)

    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    with schema_context(tenant.schema_name):
        assert PaymentCustomer.objects.count() == customers and not Command.objects.exists()
    # Reading the network is counted apart: the same address still browses.
    assert Client(HTTP_HOST=ALPHA).get("/api/v1/network/locations/").status_code == 200


def test_guest_endpoints_need_the_right_secret_and_refuse_other_credentials(tenant, station):
    evse = in_alpha(tenant, lambda: (StripeAccountFactory(), online_evse())[1])
    assert guest_start(evse).status_code == 202
    for client in (
        as_guest("not-the-secret"),
        as_guest(""),
        Client(HTTP_HOST=ALPHA),
        api_client(ALPHA, key_in(tenant)),
        driver_api(tenant)[0],
    ):
        response = client.get("/api/v1/guest/sessions/current/")
        assert response.status_code == 401, client
        assert client.post("/api/v1/guest/sessions/current/stop/").status_code == 401


def test_a_guest_start_validates_its_input_and_another_brand_knows_nothing_of_the_secret(tenant, outsider, station):
    evse = in_alpha(tenant, lambda: (StripeAccountFactory(), online_evse())[1])
    response = Client(HTTP_HOST=ALPHA).post(
        "/api/v1/guest/charges/", {"evse": code_of(evse), "email": "nope"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"payment_method", "email"}
    secret = guest_start(evse).json()["guest_token"]
    bravo = Client(HTTP_HOST="bravo.localhost", HTTP_AUTHORIZATION=f"Guest {secret}")
    assert bravo.get("/api/v1/guest/sessions/current/").status_code == 401
