"""Cursor pagination: stable under inserts, and no COUNT over a large table.

Lists page by id (a unique, indexed key) in the order the list names as its default, or as the caller asks with
`ordering=id` (oldest first) or `ordering=-id` (newest first). Sessions page by start time instead
(`apps.api.sessions.SessionStartPagination`).
"""

from django.db.models import prefetch_related_objects
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from apps.api.permissions import scoped

ORDERINGS = ("id", "-id")


def ordering_from(request, allowed: tuple[str, ...], default: str) -> str:
    """The `ordering` query parameter, one of `allowed`, or `default` without it; 400 naming it otherwise."""
    chosen = request.query_params.get("ordering")
    if chosen is None:
        return default
    if chosen not in allowed:
        raise ValidationError({"ordering": [f"One of: {', '.join(allowed)}."]})
    return chosen


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_ordering(self, request, queryset, view) -> tuple[str]:
        default = self.ordering if isinstance(self.ordering, str) else self.ordering[0]
        return (ordering_from(request, ORDERINGS, default),)

    def get_page_size(self, request) -> int:
        # DRF ignores a bad page_size silently; a client that asked for something else should be told.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return size


def paginated(
    request, view, queryset, serializer_class, *, ordering: str = "id", prefetch=(), pagination_class=None
) -> Response:
    """A cursor page of `queryset` serialised with `serializer_class`. `ordering` is the list's default (unique
    and indexed, e.g. "-id" for newest first); `prefetch` is applied to the page's rows only. Every list is narrowed
    here to the caller's object scope (apps.api.permissions.scoped): no list of the API can forget it."""
    queryset = scoped(request, queryset)
    paginator = (pagination_class or IdCursorPagination)()
    paginator.ordering = ordering
    page = paginator.paginate_queryset(queryset, request, view=view)
    if prefetch:
        prefetch_related_objects(page, *prefetch)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
