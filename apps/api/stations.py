"""Read endpoints for the network: stations, their EVSEs and connectors with live status, and locations."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.models import Scope
from apps.api.pagination import paginated
from apps.api.permissions import object_or_404, scoped
from apps.api.schema import CURSOR_PARAMETERS, page_of
from apps.stations.models import Connector, Evse, Location, Station
from apps.stations.selectors import connector_list, evse_list, location_list, station_list


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
        identity = serializers.CharField(required=False, max_length=48, help_text="The station's OCPP identity")

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(StationOutput))
    def get(self, request):
        # A plain dict: from a QueryDict DRF reads a missing boolean as false, which would filter by it.
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        stations = station_list(
            online=filters.validated_data.get("online"),
            location_id=filters.validated_data.get("location"),
            identity=filters.validated_data.get("identity"),
        )
        return paginated(request, self, stations, StationOutput)


class StationDetailApi(APIView):
    required_scopes = [Scope.STATIONS_READ]

    @extend_schema(responses=StationOutput)
    def get(self, request, station_id: int):
        station = object_or_404(request, station_list(), pk=station_id)
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
        location = object_or_404(request, location_list(), pk=location_id)
        return Response(LocationOutput(location).data)


def station_or_404(request, station_id: int):
    """The station for a nested path or a command, within the caller's scope."""
    station = scoped(request, Station.objects.filter(pk=station_id)).first()
    if station is None:
        raise NotFound()
    return station


# What stations report (OCPP 1.6 ChargePointStatus and 2.0.1 ConnectorStatusEnumType), and Unknown before any report.
CONNECTOR_STATUSES = [
    "Available",
    "Occupied",
    "Preparing",
    "Charging",
    "SuspendedEVSE",
    "SuspendedEV",
    "Finishing",
    "Reserved",
    "Unavailable",
    "Faulted",
    "Unknown",
]


class ConnectorLiveOutput(ConnectorOutput):
    class Meta(ConnectorOutput.Meta):
        fields = (*ConnectorOutput.Meta.fields, "status_reported_at")
        extra_kwargs = {"status_reported_at": {"help_text": "When the station reported the status, by its clock"}}


class EvseLiveOutput(serializers.ModelSerializer):
    station = serializers.IntegerField(source="station_id", read_only=True)
    connectors = ConnectorLiveOutput(many=True)

    class Meta:
        model = Evse
        fields = ("station", "evse_id", "connectors")


class EvseListApi(APIView):
    required_scopes = [Scope.STATIONS_READ]

    @extend_schema(parameters=CURSOR_PARAMETERS, responses=page_of(EvseLiveOutput))
    def get(self, request, station_id: int):
        station = station_or_404(request, station_id)
        return paginated(request, self, evse_list(station_id=station.pk), EvseLiveOutput, ordering="evse_id")


class EvseDetailApi(APIView):
    required_scopes = [Scope.STATIONS_READ]

    @extend_schema(responses=EvseLiveOutput)
    def get(self, request, station_id: int, evse_id: int):
        station = station_or_404(request, station_id)
        evse = get_object_or_404(evse_list(station_id=station.pk), evse_id=evse_id)
        return Response(EvseLiveOutput(evse).data)


class ConnectorNetworkOutput(ConnectorLiveOutput):
    station = serializers.IntegerField(source="evse.station_id", read_only=True)
    station_identity = serializers.CharField(source="evse.station.identity", read_only=True)
    station_online = serializers.BooleanField(
        source="evse.station.is_online",
        read_only=True,
        help_text="Whether the station is connected now: an offline station's last status may be stale",
    )
    evse_id = serializers.IntegerField(source="evse.evse_id", read_only=True)

    class Meta(ConnectorLiveOutput.Meta):
        fields = ("station", "station_identity", "station_online", "evse_id", *ConnectorLiveOutput.Meta.fields)


class ConnectorListApi(APIView):
    required_scopes = [Scope.STATIONS_READ]

    class FilterInput(serializers.Serializer):
        status = serializers.ChoiceField(choices=CONNECTOR_STATUSES, required=False)
        station = serializers.IntegerField(required=False, min_value=1)
        online = serializers.BooleanField(required=False, help_text="Only connectors of stations connected (or not)")
        power_type = serializers.ChoiceField(choices=Connector.PowerType.choices, required=False)

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(ConnectorNetworkOutput))
    def get(self, request):
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        connectors = connector_list(
            status=data.get("status"),
            station_id=data.get("station"),
            online=data.get("online"),
            power_type=data.get("power_type"),
        )
        return paginated(request, self, connectors, ConnectorNetworkOutput)
