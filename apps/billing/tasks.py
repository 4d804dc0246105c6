"""Celery tasks of billing: a session's hold when it starts, its CDR, receipt and capture when it ends. They take
the tenant's schema and the session's id, and call the services (apps/billing/services/sessions.py)."""

import logging

from apps.billing.services.sessions import session_bill, session_payment_authorise
from apps.whitelabel.tenancy import tenant_task

logger = logging.getLogger(__name__)


@tenant_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def session_hold_task(session_id: int) -> int | None:
    payment = session_payment_authorise(session_id=session_id)
    return payment.pk if payment else None


@tenant_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def session_bill_task(session_id: int) -> dict:
    billed = session_bill(session_id=session_id)
    return {
        "cdr": billed.cdr.cdr_id if billed.cdr else None,
        "invoice": billed.invoice.number if billed.invoice else None,
        "payment": billed.payment.pk if billed.payment else None,
        "skipped": billed.skipped,
    }
