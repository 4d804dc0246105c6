"""Stripe, through the `stripe` library: customers and payment methods, PaymentIntents with manual capture as the
pre-authorisation hold, refunds, and webhooks signed with the endpoint's secret (`Stripe-Signature: t=…,v1=…`).

dj-stripe's models are not used (they would hold every tenant's customers and intents in the public schema, see
docs/decisions/0010-payment-providers.md); its status vocabulary and currency table are.
"""

import json
from collections.abc import Mapping

import stripe
from django.conf import settings
from djstripe.enums import CaptureMethod, PaymentIntentStatus, RefundStatus

from apps.billing.exceptions import PaymentAccountError, ProviderError, WebhookPayloadError, WebhookSignatureError
from apps.billing.providers.base import (
    Notification,
    NotificationAction,
    PaymentProvider,
    PaymentState,
    ProviderCustomer,
    ProviderPayment,
    ProviderPaymentMethod,
    ProviderRefund,
    RefundState,
)

Action = NotificationAction

INTENT_EVENTS = {
    "payment_intent.amount_capturable_updated": Action.AUTHORISED,
    "payment_intent.requires_action": Action.REQUIRES_ACTION,
    "payment_intent.succeeded": Action.CAPTURED,
    "payment_intent.canceled": Action.CANCELLED,
    "payment_intent.payment_failed": Action.FAILED,
}
REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"})
REFUND_STATES = {
    RefundStatus.succeeded: RefundState.SUCCEEDED,
    RefundStatus.failed: RefundState.FAILED,
    RefundStatus.canceled: RefundState.FAILED,
}


def _intent_state(intent: dict) -> PaymentState:
    status = intent.get("status")
    if status == PaymentIntentStatus.requires_capture:
        return PaymentState.AUTHORISED
    if status == PaymentIntentStatus.succeeded:
        return PaymentState.CAPTURED
    if status == PaymentIntentStatus.canceled:
        return PaymentState.CANCELLED
    if status == PaymentIntentStatus.requires_payment_method and intent.get("last_payment_error"):
        return PaymentState.FAILED  # the method was declined; the driver may try another
    return PaymentState.REQUIRES_ACTION  # requires_confirmation/requires_action/processing


def _intent_payment(intent: dict) -> ProviderPayment:
    error = intent.get("last_payment_error") or {}
    state = _intent_state(intent)
    return ProviderPayment(
        reference=intent["id"],
        state=state,
        currency=intent["currency"].upper(),
        # Until the hold is placed this is the amount asked for; the state says whether it is held.
        authorised=intent.get("amount_capturable") or intent["amount"],
        captured=intent.get("amount_received") or 0,
        client_secret=intent.get("client_secret") or "",
        failure_code=error.get("decline_code") or error.get("code") or "",
        failure_message=(error.get("message") or "")[:255],
        raw=intent,
    )


class StripeProvider(PaymentProvider):
    name = "stripe"

    def __init__(self, account):
        super().__init__(account)
        if account.secret_key:
            self.api_key, self.stripe_account = account.secret_key, None
        elif account.connect_account_id:
            if not settings.STRIPE_PLATFORM_SECRET_KEY:
                raise PaymentAccountError("A Stripe Connect account needs STRIPE_PLATFORM_SECRET_KEY on the platform.")
            self.api_key, self.stripe_account = settings.STRIPE_PLATFORM_SECRET_KEY, account.connect_account_id
        else:
            self.api_key = self.stripe_account = None

    @property
    def client(self) -> stripe.StripeClient:
        if not self.api_key:
            raise PaymentAccountError("The Stripe account has neither a secret key nor a Connect account id.")
        # `stripe.default_http_client` is the library's documented hook for the HTTP layer; tests plug a fake in.
        http_client = stripe.default_http_client
        if self.account.offline_sandbox:
            if self.account.mode != self.account.Mode.TEST:
                raise PaymentAccountError("The offline sandbox is for test mode only.")
            from apps.billing.providers.stripe.sandbox import OfflineStripeSandbox

            http_client = OfflineStripeSandbox()
        return stripe.StripeClient(
            self.api_key,
            stripe_account=self.stripe_account,
            http_client=http_client,
            max_network_retries=2,
        )

    def _call(self, service_call, *args, idempotency_key: str = "", **params) -> dict:
        options = {"idempotency_key": idempotency_key} if idempotency_key else {}
        try:
            answer = service_call(*args, params=params, options=options)
        except stripe.CardError as error:
            body = (error.json_body or {}).get("error", {})
            if body.get("payment_intent"):
                return body["payment_intent"]  # declined: the intent tells how, answered as a failed payment
            raise ProviderError(str(error.user_message or error), code=error.code or "", declined=True) from error
        except stripe.StripeError as error:
            raise ProviderError(str(error.user_message or error), code=error.code or "") from error
        return answer.to_dict()

    def customer_create(self, *, reference: str, email: str = "", name: str = "") -> ProviderCustomer:
        customer = self._call(
            self.client.v1.customers.create,
            idempotency_key=reference,
            email=email or None,
            name=name or None,
            metadata={"reference": reference},
        )
        return ProviderCustomer(reference=customer["id"], raw=customer)

    def payment_method_attach(self, *, customer: str, payment_method: str) -> ProviderPaymentMethod:
        method = self._call(self.client.v1.payment_methods.attach, payment_method, customer=customer)
        card = method.get("card") or {}
        return ProviderPaymentMethod(
            reference=method["id"],
            kind=method.get("type") or "card",
            brand=card.get("brand") or "",
            last4=card.get("last4") or "",
            expiry_month=card.get("exp_month"),
            expiry_year=card.get("exp_year"),
            raw=method,
        )

    def authorise(
        self,
        *,
        amount: int,
        currency: str,
        reference: str,
        idempotency_key: str,
        customer: str = "",
        payment_method: str = "",
        description: str = "",
    ) -> ProviderPayment:
        params = {
            "amount": amount,
            "currency": currency.lower(),
            "capture_method": CaptureMethod.manual,
            "payment_method_types": ["card"],
            "metadata": {"reference": reference},
        }
        if description:
            params["description"] = description
        if customer:
            params["customer"] = customer
        if payment_method:
            # Confirmed at once: the hold is placed now, or the intent asks the driver's app for 3-D Secure.
            params.update(payment_method=payment_method, confirm=True)
        intent = self._call(self.client.v1.payment_intents.create, idempotency_key=idempotency_key, **params)
        return _intent_payment(intent)

    def capture(self, *, payment: str, amount: int, currency: str, idempotency_key: str) -> ProviderPayment:
        intent = self._call(
            self.client.v1.payment_intents.capture, payment, idempotency_key=idempotency_key, amount_to_capture=amount
        )
        return _intent_payment(intent)

    def cancel(self, *, payment: str, idempotency_key: str) -> ProviderPayment:
        intent = self._call(self.client.v1.payment_intents.cancel, payment, idempotency_key=idempotency_key)
        return _intent_payment(intent)

    def refund(self, *, payment: str, amount: int, currency: str, idempotency_key: str) -> ProviderRefund:
        refund = self._call(
            self.client.v1.refunds.create, idempotency_key=idempotency_key, payment_intent=payment, amount=amount
        )
        return ProviderRefund(
            reference=refund["id"],
            amount=refund["amount"],
            currency=refund["currency"].upper(),
            state=REFUND_STATES.get(refund.get("status"), RefundState.PENDING),
            raw=refund,
        )

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> list[Notification]:
        if not self.account.webhook_secret:
            raise WebhookSignatureError("The Stripe account has no webhook secret: no webhook can be verified.")
        try:
            stripe.WebhookSignature.verify_header(
                body,
                headers.get("Stripe-Signature"),
                self.account.webhook_secret,
                tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_S,
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
            raise WebhookSignatureError(str(error)) from error
        try:
            event = json.loads(body)
            kind, obj = event["type"], event["data"]["object"]
            notification = self._notification(event, kind, obj)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise WebhookPayloadError(f"Not a Stripe event: {error}") from error
        return [notification]

    def _notification(self, event: dict, kind: str, obj: dict) -> Notification:
        common = {"event_id": event["id"], "kind": kind, "live": bool(event.get("livemode")), "payload": event}
        if event.get("account") and event["account"] != self.account.connect_account_id:
            return Notification(action=Action.IGNORED, **common)  # another connected account's event
        if kind in INTENT_EVENTS:
            action = INTENT_EVENTS[kind]
            error = obj.get("last_payment_error") or {}
            amount = {Action.AUTHORISED: obj.get("amount_capturable"), Action.CAPTURED: obj.get("amount_received")}
            return Notification(
                action=action,
                payment_reference=obj["id"],
                amount=amount.get(action),
                currency=obj["currency"].upper(),
                failure_code=error.get("decline_code") or error.get("code") or "",
                failure_message=(error.get("message") or "")[:255],
                **common,
            )
        if kind in REFUND_EVENTS and obj.get("object") == "refund":
            return Notification(
                action=Action.REFUND,
                payment_reference=obj.get("payment_intent") or "",
                amount=obj["amount"],
                currency=obj["currency"].upper(),
                refund_reference=obj["id"],
                refund_state=REFUND_STATES.get(obj.get("status"), RefundState.PENDING),
                failure_code=obj.get("failure_reason") or "",
                **common,
            )
        return Notification(action=Action.IGNORED, **common)
