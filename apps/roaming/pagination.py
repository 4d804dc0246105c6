"""OCPI 2.2.1 pagination of GET list requests (§4.1.3 of the transport rules): `date_from` (inclusive) and
`date_to` (exclusive) on `last_updated`, `offset` (0) and `limit` (capped at MAX_LIMIT); the answer carries
`X-Total-Count`, `X-Limit` and, while objects remain, `Link: <next>; rel="next"` keeping the other filters."""

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.utils.dateparse import parse_datetime

from apps.roaming.exceptions import RoamingError
from apps.roaming.transport import INVALID_PARAMETERS, envelope

MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    date_from: datetime | None
    date_to: datetime | None
    offset: int
    limit: int


def _date(request: HttpRequest, name: str) -> datetime | None:
    raw = request.GET.get(name)
    if raw is None:
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None:
        raise RoamingError(f"{name} is not an ISO 8601 date-time", status_code=INVALID_PARAMETERS)
    # OCPI times are UTC; a time without an offset is read as UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _count(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise RoamingError(f"{name} must be a whole number of 0 or more", status_code=INVALID_PARAMETERS)
    return int(raw)


def page_from(request: HttpRequest) -> Page:
    """The page asked for; bad values are a RoamingError 2001 (in the envelope, HTTP 200)."""
    limit = _count(request, "limit", MAX_LIMIT)
    if limit == 0:
        raise RoamingError("limit must be at least 1", status_code=INVALID_PARAMETERS)
    return Page(
        date_from=_date(request, "date_from"),
        date_to=_date(request, "date_to"),
        offset=_count(request, "offset", 0),
        limit=min(limit, MAX_LIMIT),
    )


def page_headers(response: HttpResponse, *, request: HttpRequest, page: Page, total: int) -> HttpResponse:
    response["X-Total-Count"] = str(total)
    response["X-Limit"] = str(page.limit)
    next_offset = page.offset + page.limit
    if next_offset < total:
        query = {key: value for key, value in request.GET.items() if key not in {"offset", "limit"}}
        query.update(offset=next_offset, limit=page.limit)
        response["Link"] = f'<{request.build_absolute_uri(request.path)}?{urlencode(query)}>; rel="next"'
    return response


def page_answer(request: HttpRequest, objects, *, date_field: str, render) -> HttpResponse:
    """A GET list answer: `objects` (a queryset in a stable order) filtered by the page's dates on `date_field`,
    the page's slice rendered by `render(items) -> list[dict]` (a whole page at once, for batched look-ups), in the
    envelope with the paging headers."""
    page = page_from(request)
    if page.date_from:
        objects = objects.filter(**{f"{date_field}__gte": page.date_from})
    if page.date_to:
        objects = objects.filter(**{f"{date_field}__lt": page.date_to})
    total = objects.count()
    data = render(list(objects[page.offset : page.offset + page.limit]))
    return page_headers(envelope(data), request=request, page=page, total=total)
