"""Stripe and Adyen faked at the HTTP boundary, and webhooks signed the way each provider documents.

The real libraries run: they build the requests, the fakes answer with JSON shaped like the providers' and record
what they were sent. Nothing leaves the machine.
"""

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import stripe

# Payment methods with a known outcome, like Stripe's and Adyen's test cards.
DECLINED = "pm_card_chargeDeclined"
NEEDS_3DS = "pm_card_threeDSecure2Required"


@dataclass
class Request:
    method: str
    path: str
    params: dict
    headers: dict
    query: dict = field(default_factory=dict)


class FakeStripe(stripe.HTTPClient):
    """Plugged in as `stripe.default_http_client`: a small Stripe that keeps its PaymentIntents in memory."""

    name = "fake"

    def __init__(self):
        super().__init__()
        self.requests: list[Request] = []
        self.intents: dict[str, dict] = {}
        self.ids = itertools.count(1)
        self.fail_next: tuple[int, dict] | None = None

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        parts = urlsplit(url)
        params = dict(parse_qsl(post_data or "", keep_blank_values=True))
        self.requests.append(Request(method, parts.path, params, dict(headers or {}), dict(parse_qsl(parts.query))))
        if self.fail_next is not None:
            status, body = self.fail_next
            self.fail_next = None
            return json.dumps(body), status, {"Request-Id": "req_fail"}
        status, body = self._answer(method, parts.path.split("/")[2:], params)
        return json.dumps(body), status, {"Request-Id": f"req_{next(self.ids)}"}

    def close(self):
        pass

    def _answer(self, method, path, params):
        match path:
            case ["customers"]:
                return 200, {"id": f"cus_{next(self.ids)}", "object": "customer", "email": params.get("email")}
            case ["payment_methods", method_id, "attach"]:
                card = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2031}
                return 200, {"id": method_id, "object": "payment_method", "type": "card", "card": card}
            case ["payment_intents"]:
                return self._intent_create(params)
            case ["payment_intents", intent_id, "capture"]:
                intent = self.intents[intent_id]
                amount = int(params.get("amount_to_capture", intent["amount_capturable"]))
                if intent["status"] != "requires_capture" or amount > intent["amount_capturable"]:
                    return 400, _stripe_error("invalid_request_error", "payment_intent_unexpected_state")
                intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
                return 200, intent
            case ["payment_intents", intent_id, "cancel"]:
                intent = self.intents[intent_id]
                intent.update(status="canceled", amount_capturable=0)
                return 200, intent
            case ["refunds"]:
                intent = self.intents[params["payment_intent"]]
                refund = {
                    "id": f"re_{next(self.ids)}",
                    "object": "refund",
                    "amount": int(params["amount"]),
                    "currency": intent["currency"],
                    "payment_intent": intent["id"],
                    "status": "succeeded",
                }
                return 200, refund
        return 404, _stripe_error("invalid_request_error", "resource_missing")

    def _intent_create(self, params):
        intent_id = f"pi_{next(self.ids)}"
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "amount_capturable": 0,
            "amount_received": 0,
            "currency": params["currency"],
            "capture_method": params.get("capture_method"),
            "client_secret": f"{intent_id}_secret_x",
            "customer": params.get("customer"),
            "payment_method": params.get("payment_method"),
            "status": "requires_payment_method",
            "last_payment_error": None,
        }
        self.intents[intent_id] = intent
        if params.get("confirm") == "true":
            if params.get("payment_method") == DECLINED:
                error = {"code": "card_declined", "decline_code": "insufficient_funds", "message": "Declined."}
                intent["last_payment_error"] = error
                body = _stripe_error("card_error", "card_declined", message="Your card was declined.")
                body["error"].update(decline_code="insufficient_funds", payment_intent=intent)
                return 402, body
            if params.get("payment_method") == NEEDS_3DS:
                intent["status"] = "requires_action"
            else:
                intent.update(status="requires_capture", amount_capturable=intent["amount"])
        return 200, intent


def _stripe_error(kind: str, code: str, message: str = "Refused.") -> dict:
    return {"error": {"type": kind, "code": code, "message": message}}


class FakeAdyen:
    """Stands in for the Adyen library's HTTP client class (`Adyen.client.HTTPClient`); state shared by all."""

    def __init__(self):
        self.requests: list[Request] = []
        self.ids = itertools.count(8800000000000001)
        self.stored_methods: dict[str, list[dict]] = {}
        self.fail_next: tuple[int, dict] | None = None

    def __call__(self, user_agent_suffix="", lib_version="", force_request=None, timeout=None):
        self.user_agent = user_agent_suffix + lib_version
        return self

    def request(self, method, url, json=None, data=None, username="", password="", xapikey="", headers=None):
        parts = urlsplit(url)
        headers = {**(headers or {}), "X-API-KEY": xapikey}
        self.requests.append(Request(method, parts.path, json or {}, headers, dict(parse_qsl(parts.query))))
        if self.fail_next is not None:
            status, body = self.fail_next
            self.fail_next = None
            return _json(body), None, status, {}
        body = self._answer(method, parts.path.split("/")[2:], json or {}, dict(parse_qsl(parts.query)))
        return _json(body), json, 200, {}

    def _answer(self, method, path, body, query):
        psp = str(next(self.ids))
        match path:
            case ["payments"]:
                declined = body["paymentMethod"].get("storedPaymentMethodId") == DECLINED
                answer = {"pspReference": psp, "resultCode": "Refused" if declined else "Authorised"}
                if declined:
                    answer.update(refusalReason="Not enough balance", refusalReasonCode="51")
                else:
                    answer["amount"] = body["amount"]
                return answer
            case ["payments", original, ("captures" | "cancels" | "refunds")]:
                answer = {"pspReference": psp, "paymentPspReference": original, "status": "received"}
                return {**answer, **({"amount": body["amount"]} if "amount" in body else {})}
            case ["storedPaymentMethods"]:
                return {"storedPaymentMethods": self.stored_methods.get(query.get("shopperReference"), [])}
        raise AssertionError(f"unexpected Adyen call {method} {path}")


def _json(body) -> str:
    return json.dumps(body)


# Webhooks, signed as documented


def stripe_signature(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed with the endpoint secret>."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def stripe_event(kind: str, obj: dict, *, event_id: str, livemode: bool = False, account: str | None = None) -> str:
    event = {"id": event_id, "object": "event", "type": kind, "livemode": livemode, "data": {"object": obj}}
    if account:
        event["account"] = account
    return json.dumps(event)


def stripe_intent(intent_id: str, *, status: str, amount: int, currency: str = "eur", **fields) -> dict:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": fields.pop("amount_capturable", 0),
        "amount_received": fields.pop("amount_received", 0),
        "currency": currency,
        "status": status,
        "last_payment_error": None,
        **fields,
    }


def adyen_signature(item: dict, hex_key: str) -> str:
    """Base64 HMAC-SHA256, keyed with the hex-decoded key, of pspReference:originalReference:merchantAccountCode:
    merchantReference:value:currency:eventCode:success (empty where absent)."""
    fields = [
        item.get("pspReference", ""),
        item.get("originalReference", ""),
        item.get("merchantAccountCode", ""),
        item.get("merchantReference", ""),
        str(item["amount"]["value"]),
        item["amount"]["currency"],
        item.get("eventCode", ""),
        item.get("success", ""),
    ]
    digest = hmac.new(binascii.unhexlify(hex_key), ":".join(fields).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def adyen_item(code: str, psp: str, *, value: int, currency: str = "EUR", success: bool = True, **fields) -> dict:
    return {
        "eventCode": code,
        "success": "true" if success else "false",
        "pspReference": psp,
        "merchantAccountCode": fields.pop("merchant", "AlphaChargeECOM"),
        "merchantReference": fields.pop("reference", "charging_session:1"),
        "amount": {"value": value, "currency": currency},
        "eventDate": "2026-11-25T10:00:00+01:00",
        **fields,
    }


def adyen_notification(*items: dict, hex_key: str | None, live: bool = False) -> str:
    """The items signed with `hex_key` (None: left as they are), in Adyen's JSON envelope."""
    signed = []
    for item in items:
        if hex_key is not None:
            item = {**item, "additionalData": {**item.get("additionalData", {}), "hmacSignature": ""}}
            item["additionalData"]["hmacSignature"] = adyen_signature(item, hex_key)
        signed.append({"NotificationRequestItem": item})
    return json.dumps({"live": "true" if live else "false", "notificationItems": signed})
