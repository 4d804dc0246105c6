"""Adyen, through its official `Adyen` library (Checkout API): payments with a stored method authorised as a
pre-authorisation with manual capture, captures, cancels and refunds (confirmed later by webhook), and standard
webhooks whose items are each signed with the endpoint's HMAC key (additionalData.hmacSignature).
"""

import binascii
import hmac
import json
from collections.abc import Mapping

import Adyen
import requests
from Adyen.util import generate_notification_sig
from django.conf import settings

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

RESULT_STATES = {
    "Authorised": PaymentState.AUTHORISED,
    "Refused": PaymentState.FAILED,
    "Error": PaymentState.FAILED,
    "Cancelled": PaymentState.CANCELLED,
}
# success=true / success=false of each event code that moves a payment.
EVENT_ACTIONS = {
    "AUTHORISATION": (Action.AUTHORISED, Action.FAILED),
    "CAPTURE": (Action.CAPTURED, Action.CAPTURE_FAILED),
    "CAPTURE_FAILED": (Action.CAPTURE_FAILED, Action.IGNORED),
    "CANCELLATION": (Action.CANCELLED, Action.IGNORED),
    "REFUND": (Action.REFUND, Action.REFUND),
    "REFUND_FAILED": (Action.REFUND, Action.IGNORED),
    "REFUNDED_REVERSED": (Action.REFUND, Action.IGNORED),
}
REFUND_FAILURES = frozenset({"REFUND_FAILED", "REFUNDED_REVERSED"})


class AdyenProvider(PaymentProvider):
    name = "adyen"

    @property
    def checkout(self) -> Adyen.AdyenCheckoutApi:
        account = self.account
        if not (account.api_key and account.merchant_account):
            raise PaymentAccountError("The Adyen account needs an API key and a merchant account.")
        client = Adyen.AdyenClient(
            xapikey=account.api_key,
            platform=account.mode,
            merchant_account=account.merchant_account,
            live_endpoint_prefix=account.live_endpoint_prefix or None,
            http_timeout=settings.PAYMENT_PROVIDER_TIMEOUT_S,
        )
        return Adyen.AdyenCheckoutApi(client=client)

    def _call(self, method, *args, **kwargs) -> dict:
        try:
            return method(*args, **kwargs).message or {}
        except Adyen.AdyenError as error:
            message = error.message if isinstance(error.message, dict) else {"message": str(error.message)}
            text = message.get("message") or str(error)
            code = str(message.get("errorCode") or error.error_code or "")
            raise ProviderError(f"Adyen: {text}", code=code) from error
        except (requests.RequestException, OSError) as error:
            raise ProviderError(f"Adyen could not be reached: {error}") from error

    def customer_create(self, *, reference: str, email: str = "", name: str = "") -> ProviderCustomer:
        # Adyen has no customer object: the shopper reference we choose is the customer.
        return ProviderCustomer(reference=reference, raw={"shopperReference": reference, "shopperEmail": email})

    def payment_method_attach(self, *, customer: str, payment_method: str) -> ProviderPaymentMethod:
        """Adyen stores a method when the driver pays with storePaymentMethod in its Drop-in: look that one up."""
        answer = self._call(
            self.checkout.recurring_api.get_tokens_for_stored_payment_details,
            query_parameters={"shopperReference": customer, "merchantAccount": self.account.merchant_account},
        )
        for method in answer.get("storedPaymentMethods") or []:
            if method.get("id") == payment_method:
                return ProviderPaymentMethod(
                    reference=method["id"],
                    kind=method.get("type") or "scheme",
                    brand=method.get("brand") or "",
                    last4=method.get("lastFour") or "",
                    expiry_month=int(method["expiryMonth"]) if method.get("expiryMonth") else None,
                    expiry_year=int(method["expiryYear"]) if method.get("expiryYear") else None,
                    raw=method,
                )
        raise ProviderError(f"Adyen stores no method {payment_method!r} for this shopper.", code="not_stored")

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
        if not (customer and payment_method):
            raise ProviderError("Adyen payments here are made with a shopper's stored payment method.")
        request = {
            "amount": {"value": amount, "currency": currency},
            "reference": reference,
            "merchantAccount": self.account.merchant_account,
            "paymentMethod": {"type": "scheme", "storedPaymentMethodId": payment_method},
            "shopperReference": customer,
            "shopperInteraction": "ContAuth",
            "recurringProcessingModel": "UnscheduledCardOnFile",
            # A pre-authorisation, captured when the session's final amount is known.
            "additionalData": {"authorisationType": "PreAuth", "manualCapture": "true"},
        }
        if description:
            request["shopperStatement"] = description[:22]
        answer = self._call(self.checkout.payments_api.payments, request, idempotency_key=idempotency_key)
        result = answer.get("resultCode", "")
        return ProviderPayment(
            reference=answer.get("pspReference", ""),
            state=RESULT_STATES.get(result, PaymentState.REQUIRES_ACTION),
            currency=currency,
            authorised=(answer.get("amount") or {}).get("value", amount),
            failure_code=answer.get("refusalReasonCode", "") if result in ("Refused", "Error") else "",
            failure_message=(answer.get("refusalReason", "") if result in ("Refused", "Error") else "")[:255],
            raw=answer,
        )

    def capture(self, *, payment: str, amount: int, currency: str, idempotency_key: str) -> ProviderPayment:
        request = {
            "merchantAccount": self.account.merchant_account,
            "amount": {"value": amount, "currency": currency},
        }
        answer = self._call(
            self.checkout.modifications_api.capture_authorised_payment,
            request,
            payment,
            idempotency_key=idempotency_key,
        )
        # "received": Adyen confirms (or refuses) the capture with a CAPTURE / CAPTURE_FAILED webhook.
        return ProviderPayment(
            reference=payment,
            state=PaymentState.CAPTURED,
            currency=currency,
            authorised=amount,
            captured=amount,
            pending=answer.get("status") == "received",
            raw=answer,
        )

    def cancel(self, *, payment: str, idempotency_key: str) -> ProviderPayment:
        answer = self._call(
            self.checkout.modifications_api.cancel_authorised_payment_by_psp_reference,
            {"merchantAccount": self.account.merchant_account},
            payment,
            idempotency_key=idempotency_key,
        )
        return ProviderPayment(
            reference=payment,
            state=PaymentState.CANCELLED,
            currency="",
            pending=answer.get("status") == "received",
            raw=answer,
        )

    def refund(self, *, payment: str, amount: int, currency: str, idempotency_key: str) -> ProviderRefund:
        request = {
            "merchantAccount": self.account.merchant_account,
            "amount": {"value": amount, "currency": currency},
        }
        answer = self._call(
            self.checkout.modifications_api.refund_captured_payment, request, payment, idempotency_key=idempotency_key
        )
        return ProviderRefund(
            reference=answer.get("pspReference", ""),
            amount=amount,
            currency=currency,
            state=RefundState.PENDING,
            raw=answer,
        )

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> list[Notification]:
        """Every item must carry a valid HMAC signature, or none is applied."""
        if not self.account.hmac_key:
            raise WebhookSignatureError("The Adyen account has no HMAC key: no webhook can be verified.")
        try:
            message = json.loads(body)
            items = [entry["NotificationRequestItem"] for entry in message["notificationItems"]]
            live = str(message.get("live", "")).lower() == "true"
        except (ValueError, KeyError, TypeError) as error:
            raise WebhookPayloadError(f"Not an Adyen notification: {error}") from error
        if not items:
            raise WebhookPayloadError("An Adyen notification without items.")
        for item in items:
            self._verify(item)
        return [self._notification(item, live) for item in items]

    def _verify(self, item: dict) -> None:
        try:
            signature = item["additionalData"]["hmacSignature"]
            unsigned = {key: value for key, value in item.items() if key != "additionalData"}
            expected = generate_notification_sig(unsigned, self.account.hmac_key).decode()
        except (KeyError, TypeError, ValueError, binascii.Error) as error:
            raise WebhookSignatureError(f"An Adyen item without a usable HMAC signature: {error!r}") from error
        if not (isinstance(signature, str) and hmac.compare_digest(expected, signature)):
            raise WebhookSignatureError("An Adyen item's HMAC signature does not match.")

    def _notification(self, item: dict, live: bool) -> Notification:
        code = item.get("eventCode", "")
        success = str(item.get("success", "")).lower() == "true"
        amount = item.get("amount") or {}
        psp, original = item.get("pspReference", ""), item.get("originalReference", "")
        common = {
            # Adyen has no event id: the same event is redelivered with the same code, reference and outcome.
            "event_id": f"{code}:{psp}:{str(success).lower()}",
            "kind": code,
            "live": live,
            "amount": amount.get("value"),
            "currency": amount.get("currency", ""),
            "payload": item,
        }
        if item.get("merchantAccountCode") != self.account.merchant_account or code not in EVENT_ACTIONS:
            return Notification(action=Action.IGNORED, payment_reference=original or psp, **common)
        action = EVENT_ACTIONS[code][0 if success else 1]
        if action == Action.REFUND:
            failed = code in REFUND_FAILURES or not success
            return Notification(
                action=action,
                payment_reference=original,
                refund_reference=psp,
                refund_state=RefundState.FAILED if failed else RefundState.SUCCEEDED,
                failure_message=item.get("reason", "")[:255] if failed else "",
                **common,
            )
        failure = action in (Action.FAILED, Action.CAPTURE_FAILED)
        return Notification(
            action=action,
            # AUTHORISATION names the payment itself; modifications name it as their originalReference.
            payment_reference=psp if code == "AUTHORISATION" else original,
            failure_code=(item.get("additionalData") or {}).get("refusalReasonCode", "") if failure else "",
            failure_message=item.get("reason", "")[:255] if failure else "",
            **common,
        )
