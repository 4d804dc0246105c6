"""The driver app's public network (issue 9): locations with what is free and what it costs, and one EVSE by the
code on its sticker. Open without a credential (limited per address) and to any of the brand's tokens."""

from django.db import connection
from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.billing import FirstRendererNegotiation
from apps.api.models import Scope
from apps.api.permissions import object_or_404
from apps.api.schema import ErrorBody
from apps.api.throttling import AnonymousRateThrottle, ApiClientRateThrottle
from apps.stations.models import Connector, Evse, Station
from apps.stations.network import (
    NetworkLocation,
    network_location_get,
    network_location_list,
    opening_times_text,
)
from apps.stations.selectors import (
    EvseAvailability,
    code_brand,
    code_deep_link,
    evse_availability,
    evse_by_code,
    evse_code,
    evse_deep_link,
    station_list,
)
from apps.stations.stickers import stickers_pdf
from apps.whitelabel.models import Branding, Tenant

# --- errors ---------------------------------------------------------------------------------------------------------


class EvseUnknown(NotFound):
    def __init__(self):
        super().__init__("No EVSE has this code.", code="evse_unknown")


class EvseOfAnotherBrand(NotFound):
    """The code names an EVSE of another brand of the platform: the app can send the driver to that brand's app."""

    def __init__(self, brand: Tenant, code: str):
        super().__init__("This EVSE belongs to another brand.", code="evse_of_another_brand")
        canonical = brand.slug.upper() + code.strip()[code.strip().index("*") :]  # as that brand prints it
        self.error_extra = {"brand": {"name": brand_name(brand), "app_url": code_deep_link(canonical, brand)}}


def brand_name(tenant: Tenant) -> str:
    branding = Branding.objects.filter(tenant=tenant).first()
    return (branding.display_name if branding else "") or tenant.name


def evse_or_404(code: str) -> Evse:
    """The brand's public EVSE with this code, or 404 `evse_unknown` / `evse_of_another_brand` (with the brand's
    name and app URL). For every endpoint that takes an EVSE code."""
    evse = evse_by_code(code)
    if evse is not None and evse.station.registration_status == Station.Registration.ACCEPTED:
        return evse
    brand = code_brand(code)
    if brand is not None and brand.pk != connection.tenant.pk:
        raise EvseOfAnotherBrand(brand, code)
    raise EvseUnknown()


# --- output ---------------------------------------------------------------------------------------------------------


def _amount(help_text: str) -> serializers.CharField:
    return serializers.CharField(allow_null=True, help_text=help_text)


class PriceOutput(serializers.Serializer):
    currency = serializers.CharField(help_text="ISO 4217")
    tariff_code = serializers.CharField(help_text="The tariff that applies (its OCPI id)")
    per_kwh = _amount("Per kWh, incl. VAT, as a decimal string; null when energy is not charged")
    per_minute = _amount("Per minute of charging, incl. VAT; null when charging time is not charged")
    per_session = _amount("Once per session, incl. VAT; null when there is no such fee")
    idle_per_minute = _amount("Per minute plugged in but not charging, incl. VAT, after the grace period")
    idle_grace_minutes = serializers.IntegerField(allow_null=True, help_text="Idle minutes not charged at first")
    vat_percent = serializers.CharField(allow_null=True, help_text="null when no VAT applies")
    includes_vat = serializers.BooleanField(help_text="Always true: every amount includes VAT")
    summary = serializers.CharField(help_text="The price in a sentence, in the request's language")


class NetworkEvseLocationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    city = serializers.CharField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)


class NetworkLocationOutput(NetworkEvseLocationOutput):
    distance_m = serializers.IntegerField(allow_null=True, help_text="From lat/lon when given, else null")
    open_now = serializers.BooleanField(allow_null=True, help_text="null when the location states no opening hours")
    evses_total = serializers.IntegerField()
    evses_available = serializers.IntegerField(help_text="EVSEs with a connector Available at an online station")
    connector_types = serializers.ListField(child=serializers.ChoiceField(choices=Connector.Standard.choices))
    max_power_kw = serializers.FloatField(allow_null=True)
    price = PriceOutput(allow_null=True, help_text="At the cheapest matching connector; null when no tariff applies")


class NetworkConnectorOutput(serializers.Serializer):
    connector_id = serializers.IntegerField()
    standard = serializers.ChoiceField(choices=Connector.Standard.choices)
    format = serializers.ChoiceField(choices=Connector.Format.choices)
    power_type = serializers.ChoiceField(choices=Connector.PowerType.choices)
    max_power_kw = serializers.FloatField()
    status = serializers.CharField(help_text="As the station last reported it (OCPP)")


class NetworkEvseStationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    identity = serializers.CharField()
    online = serializers.BooleanField()


class NetworkEvseOutput(serializers.Serializer):
    code = serializers.CharField(help_text="BRAND*STATION*EVSE, as printed on the sticker")
    evse_id = serializers.IntegerField()
    station = NetworkEvseStationOutput()
    location = NetworkEvseLocationOutput(allow_null=True, help_text="null when the station has no location")
    status = serializers.CharField(help_text="Offline, or the status of its connectors (Available if one is)")
    startable = serializers.BooleanField()
    not_startable_reason = serializers.ChoiceField(
        choices=["", "offline", "faulted", "occupied", "reserved", "unavailable"]
    )
    connectors = NetworkConnectorOutput(many=True)
    price = PriceOutput(allow_null=True, help_text="At its first connector; null when no tariff applies")
    deep_link = serializers.URLField(help_text="The app's page of this EVSE: what the sticker's QR code opens")


class NetworkLocationDetailOutput(NetworkLocationOutput):
    opening_times = serializers.CharField(help_text="The regular opening hours for people; empty when not stated")
    timezone = serializers.CharField()
    evses = NetworkEvseOutput(many=True)


def _kw(watts: int) -> float:
    return watts / 1000


def _coordinate(value) -> float | None:
    return None if value is None else float(value)


def location_data(summary: NetworkLocation) -> dict:
    location = summary.location
    return {
        "id": location.pk,
        "name": location.name,
        "address": location.address,
        "city": location.city,
        "latitude": _coordinate(location.latitude),
        "longitude": _coordinate(location.longitude),
        "distance_m": summary.distance_m,
        "open_now": summary.open_now,
        "evses_total": len(summary.evses),
        "evses_available": summary.evses_available,
        "connector_types": summary.connector_types,
        "max_power_kw": None if summary.max_power_kw is None else float(summary.max_power_kw),
        "price": summary.price.as_dict() if summary.price else None,
    }


def evse_status(evse: Evse) -> str:
    if not evse.station.is_online:
        return "Offline"
    statuses = [connector.status or "Unknown" for connector in evse.connectors.all()]
    if "Available" in statuses:
        return "Available"
    return statuses[0] if statuses else "Unknown"


def evse_data(evse: Evse, *, availability: EvseAvailability, price, tenant: Tenant) -> dict:
    station = evse.station
    location = station.location
    code = evse_code(evse, tenant)
    return {
        "code": code,
        "evse_id": evse.evse_id,
        "station": {"id": station.pk, "identity": station.identity, "online": station.is_online},
        "location": None
        if location is None
        else {
            "id": location.pk,
            "name": location.name,
            "address": location.address,
            "city": location.city,
            "latitude": _coordinate(location.latitude),
            "longitude": _coordinate(location.longitude),
        },
        "status": evse_status(evse),
        "startable": availability.startable,
        "not_startable_reason": availability.reason,
        "connectors": [
            {
                "connector_id": c.connector_id,
                "standard": c.standard,
                "format": c.format,
                "power_type": c.power_type,
                "max_power_kw": _kw(c.max_power_w),
                "status": c.status or "Unknown",
            }
            for c in evse.connectors.all()
        ],
        "price": price.as_dict() if price else None,
        "deep_link": evse_deep_link(evse, tenant, code=code),
    }


# --- views ----------------------------------------------------------------------------------------------------------


class PublicApi(APIView):
    """Anyone may read the public network; a client without a credential is limited per address."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonymousRateThrottle, ApiClientRateThrottle]


NOT_FOUND = OpenApiResponse(ErrorBody, "No such location or EVSE in this brand's public network.")


class NetworkLocationListApi(PublicApi):
    class FilterInput(serializers.Serializer):
        lat = serializers.FloatField(
            required=False, min_value=-90, max_value=90, help_text="With lon: sort by distance"
        )
        lon = serializers.FloatField(required=False, min_value=-180, max_value=180)
        connector_type = serializers.ChoiceField(choices=Connector.Standard.choices, required=False)
        min_power_kw = serializers.DecimalField(
            required=False, min_value=0, max_value=100000, max_digits=9, decimal_places=3
        )
        available = serializers.BooleanField(required=False, help_text="Only locations with a free connector")
        max_price_per_kwh = serializers.DecimalField(
            required=False, min_value=0, max_value=100000, max_digits=12, decimal_places=4, help_text="Incl. VAT"
        )
        open_now = serializers.BooleanField(required=False, help_text="Only locations open now")

        def validate(self, data):
            if ("lat" in data) != ("lon" in data):
                missing = "lon" if "lat" in data else "lat"
                raise serializers.ValidationError({missing: ["Give lat and lon together."]})
            return data

    @extend_schema(
        parameters=[FilterInput],
        responses={
            200: inline_serializer(name="NetworkLocationList", fields={"results": NetworkLocationOutput(many=True)})
        },
        summary="The brand's public charging locations, nearest first",
    )
    def get(self, request):
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        summaries = network_location_list(
            lat=data.get("lat"),
            lon=data.get("lon"),
            connector_type=data.get("connector_type"),
            min_power_kw=data.get("min_power_kw"),
            available=data.get("available", False),
            max_price_per_kwh=data.get("max_price_per_kwh"),
            open_now=data.get("open_now", False),
        )
        return Response({"results": [location_data(summary) for summary in summaries]})


class NetworkLocationDetailApi(PublicApi):
    @extend_schema(responses={200: NetworkLocationDetailOutput, 404: NOT_FOUND}, summary="A location and its EVSEs")
    def get(self, request, location_id: int):
        summary = network_location_get(location_id)
        if summary is None:
            raise NotFound("No such location.")
        tenant = connection.tenant
        payload = location_data(summary)
        payload["opening_times"] = opening_times_text(summary.location)
        payload["timezone"] = summary.location.timezone
        payload["evses"] = [
            evse_data(
                evse, availability=summary.availability[evse.pk], price=_first_price(evse, summary), tenant=tenant
            )
            for evse in summary.evses
        ]
        return Response(payload)


def _first_price(evse: Evse, summary: NetworkLocation):
    connectors = list(evse.connectors.all())
    return summary.prices.get(connectors[0].pk) if connectors else None


class NetworkEvseDetailApi(PublicApi):
    @extend_schema(
        responses={
            200: NetworkEvseOutput,
            404: OpenApiResponse(
                ErrorBody,
                "`evse_unknown`; or `evse_of_another_brand`, with `brand` ({name, app_url}) in the error object.",
            ),
        },
        summary="One EVSE by the code on its sticker: whether it can be started, and its price",
    )
    def get(self, request, code: str):
        from apps.tariffs.selectors import price_of

        evse = evse_or_404(code)
        connectors = list(evse.connectors.all())
        price = price_of(connectors[0]) if connectors else None
        return Response(evse_data(evse, availability=evse_availability(evse), price=price, tenant=connection.tenant))


class StationStickersApi(APIView):
    """For operators: the station's QR stickers, one per EVSE (the same PDF as the admin's and the portal's)."""

    required_scopes = [Scope.STATIONS_READ]
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(
        operation_id="stations_stickers_retrieve",
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="A4 sheets of QR stickers, one per EVSE of the station"
            ),
        },
        summary="QR stickers of a station's EVSEs (PDF)",
    )
    def get(self, request, station_id: int):
        station = object_or_404(request, station_list(), pk=station_id)
        response = HttpResponse(stickers_pdf(Evse.objects.filter(station=station)), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="stickers-{station.pk}.pdf"'
        return response


urlpatterns_part: list = [
    path("stations/<int:station_id>/stickers.pdf", StationStickersApi.as_view(), name="station-stickers"),
    path("network/locations/", NetworkLocationListApi.as_view(), name="network-location-list"),
    path("network/locations/<int:location_id>/", NetworkLocationDetailApi.as_view(), name="network-location-detail"),
    path("network/evses/<str:code>/", NetworkEvseDetailApi.as_view(), name="network-evse-detail"),
]
