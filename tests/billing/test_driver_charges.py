"""Starting from the driver app with money at stake: the hold comes before the remote start, the session it starts
adopts it, and no driver is ever held twice or left held (a refused, unanswered or never-begun start)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.billing.exceptions import ChargeRefusedError
from apps.billing.models import Payment, PaymentCustomerToken, StoredPaymentMethod
from apps.billing.services.driver_charges import (
    charge_stop,
    driver_charge_start,
    guest_charge_start,
    start_holds_expire,
)
from apps.billing.services.payments import payment_method_attach
from apps.billing.services.sessions import session_payment_authorise
from apps.commands.models import Command
from apps.sessions.models import ChargingSession, GuestAccess, IdToken, Reservation
from apps.sessions.services import driver_app_token
from tests.accounts.factories import DriverFactory
from tests.billing.driver import online_evse, paying_driver, station_starts
from tests.billing.factories import PaymentCustomerFactory, StripeAccountFactory
from tests.billing.fakes import DECLINED

pytestmark = pytest.mark.usefixtures("tenant_schema")

HELD = Payment.Status.AUTHORISED


def intents_created(stripe_api) -> int:
    return sum(request.path == "/v1/payment_intents" for request in stripe_api.requests)


def test_the_app_token_is_created_once_and_belongs_to_the_driver():
    driver = DriverFactory()
    token = driver_app_token(driver)
    assert driver_app_token(driver) == token
    assert (token.type, token.owner, token.status) == (IdToken.Type.CENTRAL, driver, IdToken.Status.ACCEPTED)
    assert len(token.uid) <= 20  # an OCPP 1.6 idTag
    assert driver_app_token(DriverFactory()) != token


def test_a_start_holds_first_then_sends_and_the_session_adopts_the_hold_once(station, stripe_api, settings):
    settings.DRIVER_APP_HOLD_AMOUNT = 3000
    driver, evse = paying_driver(), online_evse()
    start = driver_charge_start(user=driver, evse=evse)

    payment = Payment.objects.get()
    assert (payment.status, payment.amount_authorised, payment.currency) == (HELD, 3000, "EUR")
    assert payment.reference == f"start:{start.id_token.uid}"
    assert [c.operation for c in station.sent] == ["remote_start"]
    assert station.sent[0].params["id_token"] == start.id_token.uid
    assert station.sent[0].params["evse_id"] == evse.evse_id
    assert payment.created_at <= station.sent[0].created_at  # held before the station was asked
    assert PaymentCustomerToken.objects.get(id_token=start.id_token).customer.user == driver

    session = station_starts(evse, start.id_token)
    assert session_payment_authorise(session_id=session.pk) == payment
    assert session_payment_authorise(session_id=session.pk) is None  # the billing task run twice
    payment.refresh_from_db()
    assert (payment.reference, payment.status) == (str(session.pk), HELD)
    assert Payment.objects.count() == 1
    assert intents_created(stripe_api) == 1


def test_a_second_start_while_the_first_waits_is_refused_and_holds_nothing_more(station, stripe_api):
    driver, evse = paying_driver(), online_evse()
    driver_charge_start(user=driver, evse=evse)
    with pytest.raises(ChargeRefusedError) as refused:
        driver_charge_start(user=driver, evse=online_evse())
    assert refused.value.code == "start_pending"
    assert Payment.objects.filter(status=HELD).count() == 1
    assert len(station.sent) == 1 and intents_created(stripe_api) == 1


def test_after_the_session_adopted_its_hold_the_driver_may_start_again(station):
    driver, evse = paying_driver(), online_evse()
    first = driver_charge_start(user=driver, evse=evse)
    session = station_starts(evse, first.id_token)
    session_payment_authorise(session_id=session.pk)
    driver_charge_start(user=driver, evse=online_evse())
    assert sorted(Payment.objects.values_list("reference", flat=True)) == sorted(
        [str(session.pk), f"start:{first.id_token.uid}"]
    )


@pytest.mark.parametrize(
    ("outcome", "code"),
    [("rejected", "start_rejected"), ("timeout", "station_timeout"), ("offline", "station_offline")],
)
def test_a_start_the_station_does_not_accept_releases_the_hold(station, stripe_api, outcome, code):
    station.outcome = outcome
    with pytest.raises(ChargeRefusedError) as refused:
        driver_charge_start(user=paying_driver(), evse=online_evse())
    assert refused.value.code == code
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.CANCELLED
    assert any(request.path.endswith("/cancel") for request in stripe_api.requests)


def test_a_hold_whose_start_never_began_is_released_after_its_time_and_the_late_session_holds_anew(station, settings):
    settings.DRIVER_APP_START_HOLD_MINUTES = 10
    driver, evse = paying_driver(), online_evse()
    start = driver_charge_start(user=driver, evse=evse)
    assert start_holds_expire(now=timezone.now() + timedelta(minutes=9)) == 0
    assert start_holds_expire(now=timezone.now() + timedelta(minutes=11)) == 1
    assert start_holds_expire(now=timezone.now() + timedelta(minutes=11)) == 0
    assert Payment.objects.get().status == Payment.Status.CANCELLED

    session = station_starts(evse, start.id_token)  # the station began after all
    payment = session_payment_authorise(session_id=session.pk)
    assert payment.reference == str(session.pk) and payment.status == HELD
    assert Payment.objects.filter(status=HELD).count() == 1


def test_an_adopted_hold_is_never_released_by_the_expiry(station):
    driver, evse = paying_driver(), online_evse()
    start = driver_charge_start(user=driver, evse=evse)
    session_payment_authorise(session_id=station_starts(evse, start.id_token).pk)
    assert start_holds_expire(now=timezone.now() + timedelta(hours=1)) == 0
    assert Payment.objects.get().status == HELD


def test_a_declined_card_starts_nothing_and_holds_nothing(station):
    with pytest.raises(ChargeRefusedError) as refused:
        driver_charge_start(user=paying_driver(method=DECLINED), evse=online_evse())
    assert refused.value.code == "payment_declined"
    assert list(Payment.objects.values_list("status", flat=True)) == [Payment.Status.FAILED]
    assert station.sent == [] and not Command.objects.exists()


def test_without_a_default_method_nothing_is_held_or_sent(station):
    StripeAccountFactory()
    driver = DriverFactory()
    PaymentCustomerFactory(user=driver)
    with pytest.raises(ChargeRefusedError) as refused:
        driver_charge_start(user=driver, evse=online_evse())
    assert refused.value.code == "payment_method_required"
    assert not Payment.objects.exists() and station.sent == []


def test_a_brand_without_payments_starts_without_a_hold(station):
    start = driver_charge_start(user=DriverFactory(), evse=online_evse())
    assert start.payment is None and not Payment.objects.exists()
    assert start.command.status == Command.Status.ACCEPTED


@pytest.mark.parametrize(
    ("evse_of", "code"),
    [
        (lambda: online_evse(status="Faulted"), "connector_faulted"),
        (lambda: online_evse(status="Charging"), "connector_occupied"),
        (lambda: online_evse(status="Reserved"), "connector_reserved"),
        (lambda: online_evse(status="Unavailable"), "connector_unavailable"),
        (lambda: online_evse(is_online=False), "station_offline"),
    ],
)
def test_an_evse_that_cannot_start_is_refused_with_its_reason_before_any_money_moves(station, evse_of, code):
    with pytest.raises(ChargeRefusedError) as refused:
        driver_charge_start(user=paying_driver(), evse=evse_of())
    assert refused.value.code == code
    assert not Payment.objects.exists() and station.sent == []


def test_an_evse_reserved_for_this_driver_starts_and_for_another_is_refused(station):
    driver, evse = paying_driver(), online_evse()
    reservation = Reservation.objects.create(
        station=evse.station,
        reservation_id=7,
        evse_id=evse.evse_id,
        id_token_uid=driver_app_token(driver).uid,
        expires_at=timezone.now() + timedelta(minutes=15),
        status=Reservation.Status.ACCEPTED,
    )
    assert driver_charge_start(user=driver, evse=evse).command.status == "accepted"
    reservation.id_token_uid = "SOMEONE-ELSE"
    reservation.save()
    with pytest.raises(ChargeRefusedError) as refused:
        driver_charge_start(user=paying_driver(), evse=evse)
    assert refused.value.code == "connector_reserved"


def test_stop_sends_the_remote_stop_of_the_sessions_transaction_and_refuses_an_ended_one(station):
    driver, evse = DriverFactory(), online_evse()
    session = station_starts(evse, driver_charge_start(user=driver, evse=evse).id_token)
    command = charge_stop(session=session, requested_by=driver)
    assert (command.operation, command.params) == ("remote_stop", {"transaction_id": session.transaction_id})
    session.status = ChargingSession.Status.COMPLETED
    with pytest.raises(ChargeRefusedError) as refused:
        charge_stop(session=session)
    assert refused.value.code == "session_not_active"
    station.outcome = "rejected"
    session.status = ChargingSession.Status.ACTIVE
    with pytest.raises(ChargeRefusedError) as refused:
        charge_stop(session=session)
    assert refused.value.code == "stop_rejected"


# --- guests ------------------------------------------------------------------------------------------------------


def test_a_guest_gets_a_day_token_paid_by_their_card_and_a_secret_kept_only_hashed(station, stripe_api):
    StripeAccountFactory()
    evse = online_evse()
    start, secret = guest_charge_start(evse=evse, payment_method="pm_card_visa", email="guest@example.test")
    token = start.id_token
    assert token.owner is None and token.type == IdToken.Type.CENTRAL
    assert timedelta(hours=23) < token.expires_at - timezone.now() <= timedelta(hours=24)
    access = GuestAccess.objects.get(id_token=token)
    assert secret not in access.secret_hash and len(secret) >= 43
    link = PaymentCustomerToken.objects.get(id_token=token)
    assert link.customer.user is None and link.customer.email == "guest@example.test"
    payment = Payment.objects.get()
    assert (payment.status, payment.reference) == (HELD, f"start:{token.uid}")
    session = station_starts(evse, token)
    assert session_payment_authorise(session_id=session.pk) == payment


def test_a_guests_declined_card_leaves_no_token_no_command_and_nothing_held(station):
    StripeAccountFactory()
    with pytest.raises(ChargeRefusedError) as refused:
        guest_charge_start(evse=online_evse(), payment_method=DECLINED)
    assert refused.value.code == "payment_declined"
    assert not IdToken.objects.exists() and not Command.objects.exists() and station.sent == []
    assert list(Payment.objects.values_list("status", flat=True)) == [Payment.Status.FAILED]


def test_a_guests_start_the_station_rejects_releases_the_hold_and_blocks_the_token(station):
    StripeAccountFactory()
    station.outcome = "rejected"
    with pytest.raises(ChargeRefusedError):
        guest_charge_start(evse=online_evse(), payment_method="pm_card_visa")
    assert Payment.objects.get().status == Payment.Status.CANCELLED
    assert IdToken.objects.get().status == IdToken.Status.BLOCKED


def test_guests_need_a_brand_that_takes_payments(station):
    with pytest.raises(ChargeRefusedError) as refused:
        guest_charge_start(evse=online_evse(), payment_method="pm_card_visa")
    assert refused.value.code == "guest_charging_unavailable"


# --- the offline sandbox ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["pm_card_chargeDeclined", "pm_card_visa_chargeDeclined"])
def test_the_offline_sandbox_declines_stripes_declining_test_cards_like_test_mode(station, stripe_api, method):
    StripeAccountFactory(offline_sandbox=True)
    with pytest.raises(ChargeRefusedError) as refused:
        guest_charge_start(evse=online_evse(), payment_method=method)
    assert refused.value.code == "payment_declined"
    assert StoredPaymentMethod.objects.get().last4 == "0002"
    payment = Payment.objects.get()
    assert (payment.status, payment.failure_code) == (Payment.Status.FAILED, "generic_decline")
    assert stripe_api.requests == []  # never left the process


def test_the_offline_sandbox_still_holds_a_good_card(station):
    account = StripeAccountFactory(offline_sandbox=True)
    customer = PaymentCustomerFactory(account=account)
    assert payment_method_attach(customer=customer, payment_method="pm_card_visa").last4 == "4242"
    start, _secret = guest_charge_start(evse=online_evse(), payment_method="pm_card_visa")
    assert start.payment.status == HELD and start.payment.provider_reference.startswith("pi_sandbox_")


def test_the_beat_releases_stale_start_holds_in_every_brand(station, settings):
    from apps.billing.tasks import start_holds_expire_all
    from config.settings.celery import CELERY_BEAT_SCHEDULE

    assert CELERY_BEAT_SCHEDULE["driver-start-holds-expire"]["task"] == start_holds_expire_all.name
    driver_charge_start(user=paying_driver(), evse=online_evse())
    settings.DRIVER_APP_START_HOLD_MINUTES = 0
    start_holds_expire_all()  # eager here: one task per brand, each in its schema
    assert Payment.objects.get().status == Payment.Status.CANCELLED


# --- a guest's receipt by email -----------------------------------------------------------------------------------


def _guest_session_ended(tenant, email: str):
    from decimal import Decimal

    from apps.sessions.services import session_stop
    from tests.billing.factories import BILLING_ELEMENTS
    from tests.tariffs.factories import TariffAssignmentFactory

    evse = online_evse()
    TariffAssignmentFactory(location=evse.station.location, tariff__elements=BILLING_ELEMENTS)
    start, _secret = guest_charge_start(evse=evse, payment_method="pm_card_visa", email=email)
    session = station_starts(evse, start.id_token)
    session_stop(
        station_id=session.station_id,
        transaction_id=session.transaction_id,
        meter_stop_wh=Decimal(8000),
        stopped_at=timezone.now(),
        reason="Remote",
    )
    return session


def test_a_guest_gets_the_receipt_by_email_once_with_its_pdf(tenant, station, stripe_api, mailoutbox):
    from apps.billing.tasks import session_bill_task

    StripeAccountFactory()
    session = _guest_session_ended(tenant, "guest@example.test")

    session_bill_task.delay(tenant.schema_name, session.pk)  # eager here, as a worker runs it
    session_bill_task.delay(tenant.schema_name, session.pk)  # a second run bills and sends nothing again

    [email] = mailoutbox
    receipt = session.id_token.sessions.get().cdrs.get().invoices.get()
    assert email.to == ["guest@example.test"] and receipt.number in email.subject and "Alpha Charge" in email.subject
    assert f"{receipt.total_gross} {receipt.currency}" in email.body and "7 kWh" in email.body
    [(filename, content, mimetype)] = email.attachments
    assert (filename, mimetype) == (f"{receipt.number}.pdf", "application/pdf") and content.startswith(b"%PDF")
    assert GuestAccess.objects.get().receipt_sent_at is not None


def test_a_guest_without_an_address_gets_no_receipt_email(tenant, station, stripe_api, mailoutbox):
    from apps.billing.tasks import session_bill_task

    StripeAccountFactory()
    session = _guest_session_ended(tenant, "")
    session_bill_task.delay(tenant.schema_name, session.pk)
    assert session.id_token.sessions.get().cdrs.get().invoices.exists()  # billed, receipt issued
    assert mailoutbox == []
