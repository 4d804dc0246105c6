"""Reads of plans, subscriptions and prepaid balances (each tenant's own, in its schema)."""

from datetime import datetime

from django.db.models import Q, QuerySet

from apps.billing.models import (
    Invoice,
    PaymentCustomer,
    PaymentCustomerToken,
    Plan,
    PrepaidAccount,
    PrepaidEntry,
    Subscription,
)
from apps.sessions.models import ChargingSession, IdToken
from apps.tariffs.models import TariffAssignment
from apps.tariffs.rating import Rating
from apps.tariffs.selectors import CustomerGroup, session_cost_running


def plan_list(*, active_only: bool = False) -> QuerySet[Plan]:
    plans = Plan.objects.all()
    return plans.filter(is_active=True) if active_only else plans


def plan_get(*, code: str) -> Plan | None:
    return plan_list().filter(code=code).first()


def subscription_list() -> QuerySet[Subscription]:
    return Subscription.objects.select_related("customer", "plan")


def subscription_live_for(*, customer: PaymentCustomer) -> Subscription | None:
    """The customer's subscription that is not cancelled (at most one)."""
    return subscription_list().filter(customer=customer, status__in=Subscription.LIVE_STATES).first()


def subscription_due_list(*, now: datetime) -> QuerySet[Subscription]:
    """Subscriptions to renew (their period is over) or whose fee is still to be collected (past due)."""
    return subscription_list().filter(
        Q(status=Subscription.Status.ACTIVE, current_period_end__lte=now) | Q(status=Subscription.Status.PAST_DUE)
    )


def session_customer(session: ChargingSession) -> PaymentCustomer | None:
    """Who pays for the session: the customer linked to its ID token, or else to the token's group."""
    return token_customer(session.id_token)


def token_customer(token: IdToken | None) -> PaymentCustomer | None:
    """Who pays for what the token charges: the customer linked to it, or else to its group."""
    if token is None:
        return None
    for candidate in (token, token.group):
        if candidate is None:
            continue
        link = PaymentCustomerToken.objects.filter(id_token=candidate).select_related("customer").first()
        if link is not None:
            return link.customer
    return None


def session_subscription(session: ChargingSession) -> Subscription | None:
    """The plan benefits of a session: its payer's active subscription, if it had begun when the session started.
    A past-due subscription gives none until its fee is paid (docs/plans.md)."""
    customer = session_customer(session)
    if customer is None:
        return None
    started = session.started_at or session.created_at
    return (
        subscription_list().filter(customer=customer, status=Subscription.Status.ACTIVE, anchor_at__lte=started).first()
    )


def plan_customer_group(plan: Plan) -> CustomerGroup:
    """The tariff customer group a plan unlocks."""
    return CustomerGroup(type=TariffAssignment.CustomerGroupType.PLAN, ref=plan.customer_group_ref)


def session_customer_group(session: ChargingSession) -> CustomerGroup | None:
    subscription = session_subscription(session)
    return plan_customer_group(subscription.plan) if subscription else None


def session_cost_for_payer(session: ChargingSession, *, at: datetime | None = None) -> Rating | None:
    """The running cost as the driver will be billed: under the plan tariff of the session's payer when they have
    one (2.0.1 totalCost, live views). The plan's included kWh come off the receipt, not off this figure."""
    return session_cost_running(session, at=at, customer_group=session_customer_group(session))


def subscription_invoice_list(*, subscription: Subscription) -> QuerySet[Invoice]:
    return Invoice.objects.filter(subscription=subscription).order_by("issued_at", "id")


def prepaid_account_get(*, customer: PaymentCustomer, currency: str) -> PrepaidAccount | None:
    return PrepaidAccount.objects.filter(customer=customer, currency=currency).first()


def prepaid_entry_list(*, account: PrepaidAccount) -> QuerySet[PrepaidEntry]:
    return PrepaidEntry.objects.filter(account=account).order_by("created_at", "id")
