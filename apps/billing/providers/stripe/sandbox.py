"""DEMO/TESTING ONLY: an in-process HTTP transport answering like Stripe's test mode, for a PaymentAccount marked
`offline_sandbox` (test mode only, enforced by a check constraint and by StripeProvider). `make run` has no internet:
with it the demo authorises, captures and refunds through the real stripe library without leaving the process.

Stateless, so a hold placed by one process is captured by another: a PaymentIntent's id carries its amount and
currency (`pi_sandbox_<amount>_<currency>_<n>`). It never answers a live key. Like test mode, it declines the
charges of `pm_card_chargeDeclined` and `pm_card_visa_chargeDeclined` (generic_decline), to demo a declined card.
"""

import itertools
import json
from urllib.parse import parse_qsl, urlsplit

import stripe

_ids = itertools.count(1)
# Stripe's test payment methods whose charges are declined (attached fine, card ending 0002), as in test mode.
DECLINED_METHODS = frozenset({"pm_card_chargeDeclined", "pm_card_visa_chargeDeclined"})


class OfflineStripeSandbox(stripe.HTTPClient):
    name = "offline-sandbox"

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        authorisation = (headers or {}).get("Authorization", "")
        if "sk_live" in authorisation or "rk_live" in authorisation:
            return json.dumps(_error("invalid_request_error", "livemode_mismatch")), 400, {}
        params = dict(parse_qsl(post_data or "", keep_blank_values=True))
        status, body = self._answer(urlsplit(url).path.split("/")[2:], params)
        return json.dumps(body), status, {"Request-Id": f"req_sandbox_{next(_ids)}"}

    def close(self):
        pass

    def _answer(self, path, params):
        match path:
            case ["customers"]:
                return 200, {"id": f"cus_sandbox_{next(_ids)}", "object": "customer", "email": params.get("email")}
            case ["payment_methods", method_id, "attach"]:
                last4 = "0002" if method_id in DECLINED_METHODS else "4242"
                card = {"brand": "visa", "last4": last4, "exp_month": 12, "exp_year": 2034}
                return 200, {"id": method_id, "object": "payment_method", "type": "card", "card": card}
            case ["payment_intents"]:
                amount, currency = int(params["amount"]), params["currency"]
                intent = _intent(f"pi_sandbox_{amount}_{currency}_{next(_ids)}")
                if params.get("confirm") == "true":
                    if params.get("payment_method") in DECLINED_METHODS:
                        return 402, _declined(intent)
                    intent.update(status="requires_capture", amount_capturable=amount)
                return 200, intent
            case ["payment_intents", intent_id, "capture"]:
                intent = _intent(intent_id)
                amount = int(params.get("amount_to_capture", intent["amount"]))
                if amount > intent["amount"]:
                    return 400, _error("invalid_request_error", "amount_too_large")
                intent.update(status="succeeded", amount_received=amount)
                return 200, intent
            case ["payment_intents", intent_id, "cancel"]:
                intent = _intent(intent_id)
                intent["status"] = "canceled"
                return 200, intent
            case ["refunds"]:
                intent = _intent(params["payment_intent"])
                refund = {
                    "id": f"re_sandbox_{next(_ids)}",
                    "object": "refund",
                    "amount": int(params["amount"]),
                    "currency": intent["currency"],
                    "payment_intent": intent["id"],
                    "status": "succeeded",
                }
                return 200, refund
        return 404, _error("invalid_request_error", "resource_missing")


def _intent(intent_id: str) -> dict:
    _, _, amount, currency, _ = intent_id.split("_", 4)
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": int(amount),
        "amount_capturable": 0,
        "amount_received": 0,
        "currency": currency,
        "capture_method": "manual",
        "client_secret": f"{intent_id}_secret_sandbox",
        "livemode": False,
        "status": "requires_payment_method",
        "last_payment_error": None,
    }


def _declined(intent: dict) -> dict:
    """Stripe's answer to a declined confirmation: a card_error naming the decline, with the failed intent."""
    message = "Your card was declined."
    error = {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": message}
    intent["last_payment_error"] = dict(error)
    return {"error": {**error, "payment_intent": intent}}


def _error(kind: str, code: str) -> dict:
    return {"error": {"type": kind, "code": code, "message": f"Offline sandbox: {code}."}}
