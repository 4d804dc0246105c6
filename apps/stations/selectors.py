"""Reads of locations and stations, for the API and other edges."""

from django.db.models import QuerySet

from apps.stations.models import Location, Station


def location_list() -> QuerySet[Location]:
    return Location.objects.all()


def station_list(*, online: bool | None = None, location_id: int | None = None) -> QuerySet[Station]:
    stations = Station.objects.prefetch_related("evses__connectors")
    if online is not None:
        stations = stations.filter(is_online=online)
    if location_id is not None:
        stations = stations.filter(location_id=location_id)
    return stations
