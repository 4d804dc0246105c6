"""The one interface every payment provider implements, and the plain values it answers with.

A provider talks to its service for one tenant's account and translates both ways: our calls into its API, its
answers and webhooks into these values. It never touches the database; apps/billing/services/payments.py does.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class PaymentState(StrEnum):
    """A payment's state as the provider reports it (the Payment.Status values that a provider can cause)."""

    REQUIRES_ACTION = "requires_action"
    AUTHORISED = "authorised"
    CAPTURED = "captured"
    CANCELLED = "cancelled"
    FAILED = "failed"


class RefundState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class NotificationAction(StrEnum):
    """What a webhook event means for a payment, whichever provider sent it."""

    REQUIRES_ACTION = "requires_action"
    AUTHORISED = "authorised"  # amount: the hold
    CAPTURED = "captured"  # amount: the total captured
    CAPTURE_FAILED = "capture_failed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    REFUND = "refund"  # one refund: refund_reference, amount, refund_state
    IGNORED = "ignored"  # kept in the log, changes nothing


@dataclass(frozen=True)
class ProviderCustomer:
    reference: str
    raw: dict = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ProviderPaymentMethod:
    reference: str
    kind: str = "card"
    brand: str = ""
    last4: str = ""
    expiry_month: int | None = None
    expiry_year: int | None = None
    raw: dict = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ProviderPayment:
    """A payment after a call. Amounts are minor units; `captured` is the total captured so far.

    `pending`: the provider accepted the request but confirms it later by webhook (Adyen's modifications).
    """

    reference: str
    state: PaymentState
    currency: str
    authorised: int = 0
    captured: int = 0
    pending: bool = False
    client_secret: str = ""
    failure_code: str = ""
    failure_message: str = ""
    raw: dict = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ProviderRefund:
    reference: str
    amount: int
    currency: str
    state: RefundState
    raw: dict = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Notification:
    """One verified webhook event. `payment_reference` names the payment as `ProviderPayment.reference` did."""

    event_id: str
    kind: str
    action: NotificationAction
    payment_reference: str = ""
    amount: int | None = None
    currency: str = ""
    refund_reference: str = ""
    refund_state: RefundState | None = None
    failure_code: str = ""
    failure_message: str = ""
    live: bool | None = None
    payload: dict = field(default_factory=dict, repr=False)


class PaymentProvider(ABC):
    """A tenant's account with one provider. Every amount is an int of minor units with its ISO currency code.

    Methods raise `ProviderError` when the provider refuses or cannot be reached; a declined card is not an error
    of `authorise`, which answers a FAILED payment with the decline's code.
    """

    name: str

    def __init__(self, account):
        self.account = account

    @abstractmethod
    def customer_create(self, *, reference: str, email: str = "", name: str = "") -> ProviderCustomer:
        """Register who pays; `reference` is our own stable id for them."""

    @abstractmethod
    def payment_method_attach(self, *, customer: str, payment_method: str) -> ProviderPaymentMethod:
        """Store a method (tokenised by the provider's own form in the driver's browser) for the customer."""

    @abstractmethod
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
        """Place a hold of `amount` (pre-authorisation), to be captured later."""

    @abstractmethod
    def capture(self, *, payment: str, amount: int, currency: str, idempotency_key: str) -> ProviderPayment:
        """Take `amount` (at most the hold) of the authorised payment; the rest of the hold is released."""

    @abstractmethod
    def cancel(self, *, payment: str, idempotency_key: str) -> ProviderPayment:
        """Release the whole hold of an authorised, uncaptured payment."""

    @abstractmethod
    def refund(self, *, payment: str, amount: int, currency: str, idempotency_key: str) -> ProviderRefund:
        """Give back `amount` of a captured payment (all or part of it)."""

    @abstractmethod
    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> list[Notification]:
        """Verify the webhook's signature with the account's secret and translate its events.

        Raises `WebhookSignatureError` (nothing must be applied) or `WebhookPayloadError`.
        """
