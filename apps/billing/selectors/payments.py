"""Reads of payments: the tenant's provider accounts, payments by what they pay for, and their logs."""

from django.db.models import QuerySet

from apps.billing.models import Payment, PaymentAccount, PaymentEvent


def payment_account_get(*, provider: str) -> PaymentAccount | None:
    """The tenant's account with `provider` (the schema is the tenant's), or None if it has not connected one."""
    return PaymentAccount.objects.filter(provider=provider).first()


def payment_list() -> QuerySet[Payment]:
    return Payment.objects.select_related("account", "customer", "payment_method")


def payment_list_for(*, purpose: str, reference: str) -> QuerySet[Payment]:
    """The payments of one paid object, e.g. purpose "charging_session" and the session's id, newest first."""
    return payment_list().filter(purpose=purpose, reference=reference)


def payment_get(*, payment_id: int) -> Payment | None:
    return payment_list().filter(pk=payment_id).first()


def payment_event_list(*, payment: Payment) -> QuerySet[PaymentEvent]:
    return PaymentEvent.objects.filter(payment=payment).order_by("created_at", "id")
