"""Read endpoints for the network: stations (with EVSEs and connectors) and locations."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.models import Scope
from apps.api.pagination import IdCursorPagination
from apps.api.schema import CURSOR_PARAMETERS, page_of
from apps.stations.models import Connector, Evse, Location, Station
from apps.stations.selectors import location_list, station_list


def paginated(request, view, queryset, serializer_class) -> Response:
    paginator = IdCursorPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class ConnectorOutput(serializers.ModelSerializer):
    class Meta:
        model = Connector
        fields = ("connector_id", "standard", "format", "power_type", "max_power_w", "status", "error_code")


class EvseOutput(serializers.ModelSerializer):
    connectors = ConnectorOutput(many=True)

    class Meta:
        model = Evse
        fields = ("evse_id", "connectors")


class StationOutput(serializers.ModelSerializer):
    location = serializers.IntegerField(source="location_id", read_only=True, allow_null=True)
    evses = EvseOutput(many=True)

    class Meta:
        model = Station
        fields = (
            "id",
            "identity",
            "location",
            "registration_status",
            "vendor",
            "model",
            "serial_number",
            "firmware_version",
            "protocol",
            "is_online",
            "status",
            "last_seen_at",
            "evses",
        )


class StationListApi(APIView):
    required_scopes = [Scope.STATIONS_READ]

    class FilterInput(serializers.Serializer):
        online = serializers.BooleanField(required=False)
        location = serializers.IntegerField(required=False, min_value=1)

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(StationOutput))
    def get(self, request):
        # A plain dict: from a QueryDict DRF reads a missing boolean as false, which would filter by it.
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        stations = station_list(
            online=filters.validated_data.get("online"), location_id=filters.validated_data.get("location")
        )
        return paginated(request, self, stations, StationOutput)


class StationDetailApi(APIView):
    required_scopes = [Scope.STATIONS_READ]

    @extend_schema(responses=StationOutput)
    def get(self, request, station_id: int):
        station = get_object_or_404(station_list(), pk=station_id)
        return Response(StationOutput(station).data)


class LocationOutput(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = (
            "id",
            "name",
            "address",
            "city",
            "postal_code",
            "country",
            "latitude",
            "longitude",
            "timezone",
            "opening_hours",
        )


class LocationListApi(APIView):
    required_scopes = [Scope.LOCATIONS_READ]

    @extend_schema(parameters=CURSOR_PARAMETERS, responses=page_of(LocationOutput))
    def get(self, request):
        return paginated(request, self, location_list(), LocationOutput)


class LocationDetailApi(APIView):
    required_scopes = [Scope.LOCATIONS_READ]

    @extend_schema(responses=LocationOutput)
    def get(self, request, location_id: int):
        location = get_object_or_404(location_list(), pk=location_id)
        return Response(LocationOutput(location).data)
