"""Reads of CDRs (each tenant's own, in its schema)."""

from django.db.models import QuerySet

from apps.billing.models import Cdr


def cdr_list() -> QuerySet[Cdr]:
    return Cdr.objects.select_related("session__station", "credit_reference")


def cdr_list_for_session(*, session_id: int) -> QuerySet[Cdr]:
    return cdr_list().filter(session_id=session_id).order_by("revision", "credit")


def cdr_get(*, cdr_id: str) -> Cdr | None:
    return cdr_list().filter(cdr_id=cdr_id).first()


def cdr_review_list() -> QuerySet[Cdr]:
    """CDRs flagged for review (missing or garbled meter data, no tariff) not yet credited."""
    return cdr_list().filter(needs_review=True, credit=False, credited_by__isnull=True)
