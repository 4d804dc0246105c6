"""Object scopes: which locations and station groups a staff user's role applies to.

A user with no scope sees the whole brand; a scoped user (a technician for two sites, say) sees and acts on the
stations of their locations and groups only, in the portal, the admin and the API alike. Every edge narrows its
querysets through these functions rather than filtering on its own.

The scope itself is apps.groups.models.StaffScope (a tenant-only table: see docs/accounts.md, Object scopes). Each
function adds one subquery to the queryset, never a loop in Python; the only extra query is the lookup of the
user's scope id, made once per user object and cached on it.

`user` may be a User, an anonymous user, or an API client (apps.api.authentication.ApiClient): an API client acts
for the person who authorized it (OAuth authorization code), or for the whole brand (API keys, client credentials).
"""

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404
from django_tenants.utils import get_public_schema_name

_UNSCOPED = object()

# How rows of station-bound models reach their station, by model label: the admin and the API narrow any of these
# with `queryset_filter`. Stations, locations and groups have their own rules below.
STATION_PATHS: dict[str, str] = {
    "stations.evse": "station",
    "stations.connector": "evse__station",
    "stations.statuschange": "station",
    "stations.fault": "station",
    "stations.stationevent": "station",
    "stations.messagelogentry": "station",
    "stations.stationvariable": "station",
    "commands.command": "station",
    "commands.stationfile": "station",
    "commands.onboarding": "station",
    "charging.chargingsession": "station",
    "charging.transactionevent": "session__station",
    "charging.metersample": "station",
    "charging.reservation": "station",
    "billing.cdr": "session__station",
    "groups.grouprun": "group",  # through the group: see group_filter
    "groups.grouprunitem": "station",
}


def _person(user):
    """The person whose scope applies, or None for the whole brand."""
    if user is None:
        return None
    if hasattr(user, "client_id"):  # an API client: its person, if a person authorized it
        user = user.user
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "is_superuser", False):
        return None
    return user


def scope_id_of(user) -> int | None:
    """The id of the user's StaffScope, None when the user sees the whole brand."""
    person = _person(user)
    if person is None or connection.schema_name == get_public_schema_name():
        return None
    cached = getattr(person, "_staff_scope_id", _UNSCOPED)
    if cached is _UNSCOPED:
        staff_scope = apps.get_model("groups", "StaffScope")
        cached = staff_scope.objects.filter(user_id=person.pk).values_list("pk", flat=True).first()
        person._staff_scope_id = cached
    return cached


def is_scoped(user) -> bool:
    return scope_id_of(user) is not None


def _station_ids(scope_id: int) -> QuerySet:
    station = apps.get_model("stations", "Station")
    group_kind = apps.get_model("groups", "StationGroup").Kind
    return station.objects.filter(
        Q(location__staff_scopes=scope_id)
        | Q(station_groups__staff_scopes=scope_id, station_groups__kind=group_kind.CUSTOM)
        | Q(location__station_groups__staff_scopes=scope_id, location__station_groups__kind=group_kind.LOCATION)
    ).values("pk")


def station_filter(user, queryset: QuerySet) -> QuerySet:
    """`queryset` of stations.Station narrowed to what `user` may see."""
    scope_id = scope_id_of(user)
    if scope_id is None:
        return queryset
    return queryset.filter(pk__in=_station_ids(scope_id))


def location_filter(user, queryset: QuerySet) -> QuerySet:
    """`queryset` of stations.Location narrowed to what `user` may see: the scope's locations, those of its
    location groups, and those where one of its stations stands."""
    scope_id = scope_id_of(user)
    if scope_id is None:
        return queryset
    location = apps.get_model("stations", "Location")
    visible = location.objects.filter(
        Q(staff_scopes=scope_id) | Q(station_groups__staff_scopes=scope_id) | Q(stations__in=_station_ids(scope_id))
    ).values("pk")
    return queryset.filter(pk__in=visible)


def group_filter(user, queryset: QuerySet, field: str = "pk") -> QuerySet:
    """`queryset` of groups.StationGroup (or of rows pointing at one through `field`) narrowed to the scope's
    groups: a scoped user may not act on a group that reaches beyond their stations."""
    scope_id = scope_id_of(user)
    if scope_id is None:
        return queryset
    group = apps.get_model("groups", "StationGroup")
    return queryset.filter(**{f"{field}__in": group.objects.filter(staff_scopes=scope_id).values("pk")})


def by_station_filter(user, queryset: QuerySet, field: str = "station") -> QuerySet:
    """`queryset` of rows that belong to a station through `field` (sessions, faults, commands, message log)
    narrowed to the stations `user` may see. Rows without a station are hidden from a scoped user."""
    scope_id = scope_id_of(user)
    if scope_id is None:
        return queryset
    return queryset.filter(**{f"{field}__in": _station_ids(scope_id)})


def queryset_filter(user, queryset: QuerySet) -> QuerySet:
    """Any queryset narrowed by its model: stations, locations, groups and the station-bound models of
    STATION_PATHS; other models (tariffs, users, invoices) are brand-wide and come back unchanged."""
    label = queryset.model._meta.label_lower
    if label == "stations.station":
        return station_filter(user, queryset)
    if label == "stations.location":
        return location_filter(user, queryset)
    if label == "groups.stationgroup":
        return group_filter(user, queryset)
    if label == "groups.grouprun":
        return group_filter(user, queryset, field="group")
    field = STATION_PATHS.get(label)
    if field is None:
        return queryset
    return by_station_filter(user, queryset, field=field)


class ScopedAdminMixin:
    """For the admin of a station-bound model (put it first among the bases).

    An action the role does not grant is refused with 403. A scoped user neither lists nor opens (404) rows of
    stations outside their scope, and the station, location and group choices of its forms are narrowed the same
    way. Bulk actions act on the listed rows, so they cannot reach another site either. An admin that builds its
    own queryset without `super().get_queryset()` passes it through `self.scoped()`."""

    def scoped(self, request, queryset: QuerySet) -> QuerySet:
        return queryset_filter(request.user, queryset)

    def get_queryset(self, request):
        return self.scoped(request, super().get_queryset(request))

    def get_object(self, request, object_id, from_field=None):
        found = super().get_object(request, object_id, from_field)
        if found is None and is_scoped(request.user):
            # Django's admin would redirect with "doesn't exist"; for a scoped user the row may well exist, and a
            # plain 404 is what the portal and the API answer too.
            raise Http404
        return found

    def changelist_view(self, request, extra_context=None):
        # Django's admin would answer an action the user's role does not grant with "No action selected" (or
        # ignore it when the role has no action at all); the portal and the API answer 403, and so does the admin.
        if request.method == "POST" and "action" in request.POST:
            name = request.POST["action"]
            known = {action_name for _, action_name, _ in self._get_base_actions()}
            if name in known and name not in self.get_actions(request):
                raise PermissionDenied
        return super().changelist_view(request, extra_context)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and getattr(field, "queryset", None) is not None:
            field.queryset = queryset_filter(request.user, field.queryset)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and getattr(field, "queryset", None) is not None:
            field.queryset = queryset_filter(request.user, field.queryset)
        return field
