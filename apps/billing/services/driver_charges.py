"""Starting and stopping a charge from the driver app, for a signed-in driver or a guest, with the money safe.

The order is fixed: the EVSE must be startable (nothing is held or sent otherwise), then, when the brand takes
payments, a pre-authorisation hold is placed on the payer's method, and only then is the remote start sent. A hold
waits under the reference `start:<token uid>` (apps/billing/services/sessions.py) until the session the start
produced adopts it; a start the station rejects or does not answer releases it at once, and a hold whose start
never produced a session is released after DRIVER_APP_START_HOLD_MINUTES (beat: apps.billing.tasks). A second
start while one holds money is refused, so no driver is held twice.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.billing.exceptions import ChargeRefusedError, PaymentError
from apps.billing.models import Payment, PaymentAccount, PaymentCustomer, PaymentCustomerToken, StoredPaymentMethod
from apps.billing.services.cdrs import tenant_current
from apps.billing.services.drivers import driver_payment_account, driver_payment_method_list, driver_tokens_link
from apps.billing.services.payments import (
    payment_authorise,
    payment_cancel,
    payment_customer_create,
    payment_method_attach,
)
from apps.billing.services.sessions import SESSION_PAYMENT_PURPOSE, START_REFERENCE_PREFIX, start_reference
from apps.commands.models import Command
from apps.commands.services import command_send
from apps.sessions.models import ChargingSession, IdToken, Reservation
from apps.sessions.services import driver_app_token, guest_token_create, guest_token_uid
from apps.stations.models import Evse
from apps.stations.selectors import evse_availability

logger = logging.getLogger(__name__)

# Why an EVSE is not startable (the network's `not_startable_reason`) → the refusal's code.
REFUSALS = {
    "offline": "station_offline",
    "faulted": "connector_faulted",
    "occupied": "connector_occupied",
    "reserved": "connector_reserved",
    "unavailable": "connector_unavailable",
}
HELD = (Payment.Status.AUTHORISED, Payment.Status.REQUIRES_ACTION)


def _refusal_message(code: str) -> str:
    return {
        "station_offline": _("The station is offline."),
        "connector_faulted": _("This charge point is out of order."),
        "connector_occupied": _("Someone is charging here."),
        "connector_reserved": _("This charge point is reserved for someone else."),
        "connector_unavailable": _("This charge point is not available."),
    }[code]


@dataclass
class ChargeStart:
    command: Command
    id_token: IdToken
    payment: Payment | None = None
    session: ChargingSession | None = None


def start_holds_live() -> QuerySet[Payment]:
    """Holds placed for a remote start that no session has adopted yet."""
    return Payment.objects.filter(
        purpose=SESSION_PAYMENT_PURPOSE, reference__startswith=START_REFERENCE_PREFIX, status__in=HELD
    )


def _availability_check(evse: Evse, uid: str | None) -> None:
    availability = evse_availability(evse)
    if availability.startable:
        return
    if availability.reason == "reserved" and uid and _reserved_only_for(evse, uid):
        return  # the driver's own reservation: the station lets them start
    code = REFUSALS.get(availability.reason, "connector_unavailable")
    raise ChargeRefusedError(code, _refusal_message(code))


def _reserved_only_for(evse: Evse, uid: str) -> bool:
    held = Reservation.objects.filter(
        station_id=evse.station_id,
        evse_id__in=[0, evse.evse_id],
        status=Reservation.Status.ACCEPTED,
        expires_at__gt=timezone.now(),
    )
    return held.exists() and not held.exclude(id_token_uid__iexact=uid).exists()


def _connector_check(evse: Evse, connector_id: int | None) -> None:
    if connector_id is not None and not any(c.connector_id == connector_id for c in evse.connectors.all()):
        raise ChargeRefusedError("connector_unknown", _("This charge point has no such connector."))


def _start_hold(*, account: PaymentAccount, uid: str, method: StoredPaymentMethod, lock: IdToken | None) -> Payment:
    """The hold for a start with token `uid`, placed now; refused when that token already waits on one (`lock`,
    the token's row, is held meanwhile so two starts at once cannot both pass). A declined method leaves only the
    failed payment: nothing is held."""
    failure = None
    with transaction.atomic():
        if lock is not None:
            IdToken.objects.select_for_update().filter(pk=lock.pk).first()
        if start_holds_live().filter(reference=start_reference(uid)).exists():
            raise ChargeRefusedError("start_pending", _("A start is already on its way: wait for it to begin."))
        try:
            payment = payment_authorise(
                account=account,
                amount=settings.DRIVER_APP_HOLD_AMOUNT,
                currency=tenant_current().currency,
                purpose=SESSION_PAYMENT_PURPOSE,
                reference=start_reference(uid),
                payment_method=method,
                description=f"Charging from the app with {uid}",
            )
        except PaymentError as error:  # the provider could not be reached: the failed payment is kept, as logged
            logger.warning("start hold for %s failed: %s", uid, error)
            failure = error
    if failure is not None:
        raise ChargeRefusedError("payment_declined", _("The payment could not be authorised.")) from failure
    if payment.status == Payment.Status.AUTHORISED:
        return payment
    if payment.status == Payment.Status.REQUIRES_ACTION:
        # 3-D Secure in the app is not supported yet: release the half-made hold rather than leave it.
        start_hold_release(payment_id=payment.pk)
        raise ChargeRefusedError("payment_declined", _("Your bank asks for a confirmation the app cannot give yet."))
    raise ChargeRefusedError("payment_declined", _("Your card was declined."))


def start_hold_release(*, payment_id: int) -> bool:
    """Release a start's hold that no session adopted (under its row lock: a session adopting it at the same moment
    keeps it). False when there was nothing to release or the provider refused (logged on the payment)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment is None or not payment.reference.startswith(START_REFERENCE_PREFIX) or payment.status not in HELD:
            return False
        try:
            payment_cancel(payment=payment)
        except PaymentError:
            logger.exception("start hold %s could not be released", payment_id)
            return False
    return True


def start_holds_expire(*, now: datetime | None = None) -> int:
    """Release the holds whose start produced no session within DRIVER_APP_START_HOLD_MINUTES; how many."""
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.DRIVER_APP_START_HOLD_MINUTES)
    stale = list(start_holds_live().filter(created_at__lt=cutoff).values_list("pk", flat=True))
    return sum(start_hold_release(payment_id=pk) for pk in stale)


def _remote_start(*, evse: Evse, id_token: IdToken, payment: Payment | None, requested_by, client_id: str) -> Command:
    try:
        command = command_send(
            station=evse.station,
            operation="remote_start",
            params={"id_token": id_token.uid, "id_token_type": id_token.type, "evse_id": evse.evse_id},
            source=Command.Source.API,
            requested_by=requested_by,
            requested_by_client=client_id,
            timeout_s=settings.DRIVER_APP_COMMAND_TIMEOUT_S,
        )
    except Exception:  # whatever went wrong (a bad parameter, the channel layer), no hold is left behind
        if payment is not None:
            start_hold_release(payment_id=payment.pk)
        raise
    if command.status == Command.Status.ACCEPTED:
        return command
    if payment is not None:
        start_hold_release(payment_id=payment.pk)
    if command.status == Command.Status.TIMEOUT:
        raise ChargeRefusedError("station_timeout", _("The station did not answer. Nothing was charged."))
    if command.status == Command.Status.OFFLINE:
        raise ChargeRefusedError("station_offline", _refusal_message("station_offline"))
    raise ChargeRefusedError("start_rejected", _("The station refused to start. Nothing was charged."))


def _session_started(id_token: IdToken, since: datetime) -> ChargingSession | None:
    return (
        ChargingSession.objects.filter(id_token=id_token, status=ChargingSession.Status.ACTIVE, created_at__gte=since)
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def id_token_payment_link(*, id_token: IdToken, customer: PaymentCustomer) -> PaymentCustomerToken:
    """The customer pays the token's sessions (apps/billing/services/sessions.py): a guest's token. A driver's
    tokens are linked to their customer by `driver_tokens_link`."""
    link, _created = PaymentCustomerToken.objects.update_or_create(id_token=id_token, defaults={"customer": customer})
    return link


def driver_charge_start(*, user, evse: Evse, connector_id: int | None = None, client_id: str = "") -> ChargeStart:
    """A signed-in driver starts at `evse` with their app token. Raises ChargeRefusedError (nothing held or sent)."""
    _connector_check(evse, connector_id)
    id_token = driver_app_token(user)
    _availability_check(evse, id_token.uid)
    payment = None
    account = driver_payment_account()
    if account is not None:
        method = driver_payment_method_list(user=user).filter(is_default=True).first()
        if method is None:
            raise ChargeRefusedError("payment_method_required", _("Add a payment method before you charge."))
        driver_tokens_link(user)
        payment = _start_hold(account=account, uid=id_token.uid, method=method, lock=id_token)
    started = timezone.now()
    command = _remote_start(evse=evse, id_token=id_token, payment=payment, requested_by=user, client_id=client_id)
    return ChargeStart(command, id_token, payment, _session_started(id_token, started))


def guest_charge_start(
    *, evse: Evse, payment_method: str, email: str = "", connector_id: int | None = None
) -> tuple[ChargeStart, str]:
    """A guest without an account starts at `evse`, paying with a method their browser tokenised (`pm_…`): a
    customer without user, the method, the hold, then a guest token (valid a day) and the start. Returns the start
    and the guest's secret (shown once). A declined method leaves no token, no command and nothing held."""
    _connector_check(evse, connector_id)
    _availability_check(evse, None)
    account = driver_payment_account()
    if account is None:
        raise ChargeRefusedError(
            "guest_charging_unavailable", _("This operator does not take card payments in the app.")
        )
    uid = guest_token_uid()
    try:
        customer = payment_customer_create(account=account, reference=f"guest-{uid}", email=email)
        method = payment_method_attach(customer=customer, payment_method=payment_method)
    except PaymentError as error:
        raise ChargeRefusedError("payment_declined", _("This card cannot be used.")) from error
    payment = _start_hold(account=account, uid=uid, method=method, lock=None)
    with transaction.atomic():
        id_token, secret = guest_token_create(uid=uid, email=email)
        id_token_payment_link(id_token=id_token, customer=customer)
    started = timezone.now()
    try:
        command = _remote_start(evse=evse, id_token=id_token, payment=payment, requested_by=None, client_id="guest")
    except ChargeRefusedError:
        IdToken.objects.filter(pk=id_token.pk).update(status=IdToken.Status.BLOCKED)
        raise
    return ChargeStart(command, id_token, payment, _session_started(id_token, started)), secret


def charge_stop(*, session: ChargingSession, requested_by=None, client_id: str = "") -> Command:
    """Ask the station to stop the session (its stop then bills it). Raises ChargeRefusedError when it is not running,
    or the station refuses or does not answer."""
    if session.status != ChargingSession.Status.ACTIVE:
        raise ChargeRefusedError("session_not_active", _("This session is not running."))
    command = command_send(
        station=session.station,
        operation="remote_stop",
        params={"transaction_id": session.transaction_id},
        source=Command.Source.API,
        requested_by=requested_by,
        requested_by_client=client_id,
        timeout_s=settings.DRIVER_APP_COMMAND_TIMEOUT_S,
    )
    if command.status == Command.Status.ACCEPTED:
        return command
    if command.status == Command.Status.TIMEOUT:
        raise ChargeRefusedError("station_timeout", _("The station did not answer."))
    if command.status == Command.Status.OFFLINE:
        raise ChargeRefusedError("station_offline", _refusal_message("station_offline"))
    raise ChargeRefusedError("stop_rejected", _("The station refused to stop."))
