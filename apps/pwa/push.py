"""Web Push to drivers' browsers (RFC 8030, VAPID RFC 8292, aes128gcm RFC 8291 through pywebpush): the brand's VAPID
key pair, browsers' subscriptions, and the push a driver gets when their session ends (a Celery task queued on
`session_ended`, never raising into the station's path)."""

import base64
import binascii
import ipaddress
import json
import logging
from decimal import Decimal
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from apps.accounts.emails import email_language
from apps.billing.money import from_minor_units, to_minor_units
from apps.billing.selectors.cdrs import cdr_in_force_list
from apps.pwa.models import PushSubscription, VapidKey
from apps.sessions.models import ChargingSession
from apps.sessions.signals import session_ended
from apps.whitelabel.models import Tenant
from apps.whitelabel.tenancy import tenant_task

logger = logging.getLogger(__name__)

# How long a push service keeps a message for a browser that is offline (its TTL header): a receipt is still worth
# showing the next morning.
PUSH_TTL_SECONDS = 24 * 3600
# A subscription is dropped after this many failed pushes in a row (a 404/410 drops it at once).
PUSH_FAILURES_MAX = 10


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- the brand's VAPID key ------------------------------------------------------------------------------------------


def vapid_key_get() -> VapidKey:
    """The brand's VAPID key pair, made on first use (in the active schema)."""
    key = VapidKey.objects.first()
    if key is not None:
        return key
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    try:
        with transaction.atomic():
            return VapidKey.objects.create(private_key_pem=pem, public_key=_b64url(point))
    except IntegrityError:  # made by a concurrent request a moment ago
        return VapidKey.objects.get()


def vapid_public_key() -> str:
    """What a browser subscribes with (`applicationServerKey`): the uncompressed P-256 point, base64url."""
    return vapid_key_get().public_key


# --- subscriptions --------------------------------------------------------------------------------------------------


def push_endpoint_check(endpoint: str) -> None:
    """A push service's URL: https to a public host. http, and hosts on this machine, only to localhost/127.0.0.1 when
    WEB_PUSH_ALLOW_HTTP_LOCALHOST is on (local development and tests, with a stand-in push service). Private and
    reserved IP addresses are refused, so a subscription cannot make the platform POST into its own network (host
    names are not resolved here: the push services are public names)."""
    refused = ValidationError({"endpoint": [_("A push endpoint must be an https URL of a push service.")]})
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as error:
        raise refused from error
    local = host in ("localhost", "127.0.0.1", "::1")
    if local:
        if settings.WEB_PUSH_ALLOW_HTTP_LOCALHOST and parts.scheme in ("http", "https"):
            return
        raise refused
    if parts.scheme != "https" or not host or host.endswith(".localhost") or parts.username or parts.password:
        raise refused
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return  # a name
    if not address.is_global or address.is_multicast:
        raise refused


def _key_check(errors: dict, name: str, value: str, length: int) -> None:
    try:
        raw = _b64url_decode(value)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != length or (name == "p256dh" and raw[:1] != b"\x04"):
        errors[name] = [_("Not a key of a browser's push subscription.")]


@transaction.atomic
def push_subscription_save(*, user, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
    """Store (or renew) a browser's subscription for `user`. The same browser signed in as someone else takes the
    subscription over: an endpoint belongs to one browser, which shows one person's notifications."""
    push_endpoint_check(endpoint)
    errors: dict = {}
    _key_check(errors, "p256dh", p256dh, 65)
    _key_check(errors, "auth", auth, 16)
    if errors:
        raise ValidationError(errors)
    subscription, _created = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth, "failures": 0}
    )
    return subscription


@transaction.atomic
def push_subscription_delete(*, user, endpoint: str) -> bool:
    """The driver turned notifications off in this browser. False when they had no such subscription."""
    deleted, _details = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return deleted > 0


# --- sending --------------------------------------------------------------------------------------------------------


def push_send(*, subscription: PushSubscription, payload: dict) -> bool:
    """Encrypt `payload` (JSON) to the browser's keys and POST it to its push service, signed with the brand's VAPID
    key. A 404 or 410 (the browser unsubscribed) deletes the subscription; other failures are counted and logged.
    Never raises: True when the push service accepted the message."""
    key = vapid_key_get()
    try:
        webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=json.dumps(payload, separators=(",", ":")),
            vapid_private_key=Vapid.from_pem(key.private_key_pem.encode()),
            vapid_claims={"sub": settings.WEB_PUSH_CONTACT},  # aud (the endpoint's origin) and exp added by webpush
            content_encoding="aes128gcm",
            ttl=PUSH_TTL_SECONDS,
            timeout=settings.WEB_PUSH_TIMEOUT_SECONDS,
        )
    except WebPushException as error:
        status = error.response.status_code if error.response is not None else None
        if status in (404, 410):
            logger.info("push subscription %s is gone (%s): deleted", subscription.pk, status)
            subscription.delete()
            return False
        _failure(subscription, f"push service answered {status}: {error.message[:200]}")
        return False
    except (requests.RequestException, ValueError, TypeError) as error:
        _failure(subscription, f"{type(error).__name__}: {error}")
        return False
    PushSubscription.objects.filter(pk=subscription.pk).update(last_success_at=timezone.now(), failures=0)
    return True


def _failure(subscription: PushSubscription, reason: str) -> None:
    logger.warning("push to subscription %s failed: %s", subscription.pk, reason)
    PushSubscription.objects.filter(pk=subscription.pk).update(failures=F("failures") + 1)
    PushSubscription.objects.filter(pk=subscription.pk, failures__gte=PUSH_FAILURES_MAX).delete()


def session_cost(session: ChargingSession) -> dict | None:
    """What the session cost, incl. VAT, once its CDR is issued: {"currency", "amount_incl_vat"}."""
    cdr = cdr_in_force_list().filter(session_id=session.pk).order_by("-revision").first()
    if cdr is None:
        return None
    amount = from_minor_units(to_minor_units(cdr.total_incl_vat, cdr.currency), cdr.currency)
    return {"currency": cdr.currency, "amount_incl_vat": str(amount)}


def session_ended_payload(session: ChargingSession, *, language: str) -> dict:
    """The notification of a finished session, in the driver's language (the contract's payload)."""
    energy_kwh = (Decimal(session.energy_wh) / 1000).quantize(Decimal("0.01"))
    cost = session_cost(session)
    with translation.override(language):
        if cost is not None:
            body = _("%(energy)s kWh charged, %(amount)s %(currency)s. Your receipt is ready.") % {
                "energy": energy_kwh,
                "amount": cost["amount_incl_vat"],
                "currency": cost["currency"],
            }
        else:
            body = _("%(energy)s kWh charged.") % {"energy": energy_kwh}
        title = _("Charging finished")
    return {
        "title": title,
        "body": body,
        "url": f"/app/sessions/{session.pk}",
        "session_id": session.pk,
        "energy_kwh": str(energy_kwh),
        "cost": cost,
    }


def session_ended_push(*, session_id: int) -> int:
    """Push the end of a session to every browser of the session's driver (the owner of its ID token). Returns how
    many push services accepted it."""
    session = ChargingSession.objects.select_related("id_token__owner").filter(pk=session_id).first()
    if session is None or session.id_token is None or session.id_token.owner is None:
        return 0
    owner = session.id_token.owner
    subscriptions = list(PushSubscription.objects.filter(user=owner))
    if not subscriptions:
        return 0
    tenant = Tenant.objects.filter(schema_name=connection.schema_name).first()
    payload = session_ended_payload(session, language=email_language(tenant=tenant, user=owner))
    return sum(push_send(subscription=subscription, payload=payload) for subscription in subscriptions)


@tenant_task()
def session_ended_push_task(session_id: int) -> int:
    try:
        return session_ended_push(session_id=session_id)
    except Exception:  # a push is a courtesy: never fail (or retry) the session's end because of it
        logger.exception("session %s: the end-of-session push failed", session_id)
        return 0


@receiver(session_ended, dispatch_uid="pwa.session_ended_push")
def session_ended_notify(sender, *, session_id: int, schema_name: str, **kwargs) -> None:
    """Queued after billing's receiver (apps.billing is installed first), so that in eager mode the CDR, and the
    cost, exist; with a worker, the push waits WEB_PUSH_SESSION_END_DELAY_SECONDS for billing to finish."""
    try:
        session_ended_push_task.apply_async(
            (schema_name, session_id), countdown=settings.WEB_PUSH_SESSION_END_DELAY_SECONDS
        )
    except Exception:  # the broker being away must not reach the station's path
        logger.exception("session %s: the end-of-session push could not be queued", session_id)
