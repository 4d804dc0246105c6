"""Reads of CDRs (each tenant's own, in its schema)."""

from datetime import date, datetime
from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate

from apps.billing.models import Cdr


def cdr_list(
    *,
    session_id: int | None = None,
    station_id: int | None = None,
    issued_after: datetime | None = None,
    issued_before: datetime | None = None,
    ended_after: datetime | None = None,
    ended_before: datetime | None = None,
    credit: bool | None = None,
) -> QuerySet[Cdr]:
    """The brand's CDRs, with their session, station, the CDR each credits and the one crediting it; the filters
    given narrow them (None: any)."""
    cdrs = Cdr.objects.select_related("session__station", "credit_reference", "credited_by")
    if session_id is not None:
        cdrs = cdrs.filter(session_id=session_id)
    if station_id is not None:
        cdrs = cdrs.filter(session__station_id=station_id)
    if issued_after is not None:
        cdrs = cdrs.filter(issued_at__gte=issued_after)
    if issued_before is not None:
        cdrs = cdrs.filter(issued_at__lt=issued_before)
    if ended_after is not None:
        cdrs = cdrs.filter(end_date_time__gte=ended_after)
    if ended_before is not None:
        cdrs = cdrs.filter(end_date_time__lt=ended_before)
    if credit is not None:
        cdrs = cdrs.filter(credit=credit)
    return cdrs


def cdr_list_for_session(*, session_id: int) -> QuerySet[Cdr]:
    return cdr_list().filter(session_id=session_id).order_by("revision", "credit")


def cdr_get(*, cdr_id: str) -> Cdr | None:
    return cdr_list().filter(cdr_id=cdr_id).first()


def cdr_review_list() -> QuerySet[Cdr]:
    """CDRs flagged for review (missing or garbled meter data, no tariff) not yet credited."""
    return cdr_list().filter(needs_review=True, credit=False, credited_by__isnull=True)


def cdr_in_force_list() -> QuerySet[Cdr]:
    """CDRs in force: issued (not credit CDRs) and not credited. At most one per session."""
    return Cdr.objects.filter(credit=False, credited_by__isnull=True)


def revenue_by_day(*, cdrs: QuerySet[Cdr]) -> list[tuple[date, str, Decimal]]:
    """(day the session ended, currency, total incl. VAT) of `cdrs`, summed in SQL; credit CDRs count negative,
    so a corrected session counts once."""
    rows = (
        cdrs.order_by()
        .annotate(day=TruncDate("end_date_time"))
        .values_list("day", "currency")
        .annotate(total=Sum("total_incl_vat"))
        .order_by("day", "currency")
    )
    return list(rows)
