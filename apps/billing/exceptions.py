"""Domain errors of billing. Nothing about HTTP: the webhook views and the admin map them to answers."""


class PaymentError(Exception):
    """Base of the payment errors."""


class AmountError(PaymentError, ValueError):
    """An amount that is not whole minor units, is negative, or exceeds what the payment allows."""


class CurrencyMismatchError(PaymentError):
    """An amount in another currency than the payment's: currencies are never mixed."""


class PaymentStateError(PaymentError):
    """The payment cannot do this from its status (capture twice, refund before capture, cancel after capture)."""


class PaymentAccountError(PaymentError):
    """The tenant has no usable account for the provider (none, inactive, or missing credentials)."""


class ProviderError(PaymentError):
    """The provider refused the request or could not be reached. `code` is the provider's error code, if any."""

    def __init__(self, message: str, *, code: str = "", declined: bool = False):
        super().__init__(message)
        self.code = code
        self.declined = declined


class WebhookSignatureError(PaymentError):
    """A webhook whose signature does not verify (or is missing, or too old): it is not applied."""


class WebhookPayloadError(PaymentError):
    """A webhook whose signature verified but whose body is not what the provider documents."""


class BillingError(Exception):
    """Base of the CDR and invoice errors."""


class CdrError(BillingError):
    """A CDR cannot be issued or credited as asked (a session not ended, a CDR credited twice…)."""


class CdrImmutableError(CdrError):
    """An issued CDR was about to change: corrections are credit CDRs (`cdr_credit`), never edits."""


class InvoiceError(BillingError):
    """An invoice cannot be made as asked (nothing to invoice, mixed currencies…)."""


class PlanError(BillingError):
    """A plan or subscription change that cannot be made (an inactive plan, another currency, a second live
    subscription, a cancelled subscription…)."""


class PrepaidError(BillingError):
    """A prepaid movement that cannot be made: it would overdraw the balance, another currency, a zero amount."""


class PrepaidLedgerError(PrepaidError):
    """A booked prepaid entry was about to change: the ledger is append-only; corrections are new entries."""


class ChargeRefusedError(Exception):
    """A start or stop from the driver app that did not happen: `code` says why (evse_unknown, connector_faulted,
    connector_occupied, connector_reserved, station_offline, connector_unavailable, start_pending,
    payment_method_required, payment_declined, guest_charging_unavailable, start_rejected, station_timeout,
    session_not_active, stop_rejected). Nothing was left held when it is raised."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
