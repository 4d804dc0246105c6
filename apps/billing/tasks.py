"""Celery tasks of billing: a session's hold when it starts, its CDR, receipt and capture when it ends; plan
renewals (beat, hourly); the release of the driver app's start holds that no session adopted (beat, every minute).
They take the tenant's schema and ids, and call the services (apps/billing/services/)."""

import logging

from celery import shared_task
from django.db import connection
from django.utils import timezone

from apps.billing.selectors.plans import subscription_due_list
from apps.billing.services.driver_charges import start_holds_expire
from apps.billing.services.plans import subscription_renew
from apps.billing.services.receipts import guest_receipt_send
from apps.billing.services.sessions import session_bill, session_payment_authorise
from apps.whitelabel.selectors import tenant_list
from apps.whitelabel.tenancy import tenant_task

logger = logging.getLogger(__name__)


@tenant_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def session_hold_task(session_id: int) -> int | None:
    payment = session_payment_authorise(session_id=session_id)
    return payment.pk if payment else None


@tenant_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def session_bill_task(session_id: int) -> dict:
    billed = session_bill(session_id=session_id)
    if billed.invoice is not None:
        try:
            guest_receipt_send(invoice=billed.invoice)
        except Exception:  # the session is billed either way; the email is not worth a retry of the billing
            logger.exception("the receipt %s could not be emailed to the guest", billed.invoice.number)
    return {
        "cdr": billed.cdr.cdr_id if billed.cdr else None,
        "invoice": billed.invoice.number if billed.invoice else None,
        "payment": billed.payment.pk if billed.payment else None,
        "skipped": billed.skipped,
    }


@shared_task(name="apps.billing.tasks.start_holds_expire_all")
def start_holds_expire_all() -> None:
    for schema_name in tenant_list().values_list("schema_name", flat=True):
        start_holds_expire_task.delay(schema_name)


@tenant_task()
def start_holds_expire_task() -> int:
    """Release the driver app's holds whose remote start never produced a session (docs/driver-charging.md)."""
    return start_holds_expire()


@shared_task(name="apps.billing.tasks.subscriptions_renew_all")
def subscriptions_renew_all() -> None:
    for schema_name in tenant_list().values_list("schema_name", flat=True):
        subscriptions_renew_due_task.delay(schema_name)


@tenant_task()
def subscriptions_renew_due_task() -> int:
    """One task per subscription to renew or to collect: one that fails is retried without holding up the rest."""
    due = list(subscription_due_list(now=timezone.now()).values_list("pk", flat=True))
    for subscription_id in due:
        subscription_renew_task.delay(connection.schema_name, subscription_id)
    return len(due)


@tenant_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def subscription_renew_task(subscription_id: int) -> str:
    return subscription_renew(subscription_id=subscription_id).status
