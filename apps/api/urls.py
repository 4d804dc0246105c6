"""The public REST API of a tenant's hosts, under /api/v1/."""

from django.urls import path, re_path
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView

from apps.api.stations import LocationDetailApi, LocationListApi, StationDetailApi, StationListApi
from apps.api.webhooks import (
    DeliveryListApi,
    DeliveryReplayApi,
    EventKindListApi,
    SubscriptionDetailApi,
    SubscriptionListApi,
    SubscriptionPingApi,
    SubscriptionSecretRotateApi,
)

app_name = "api"


class UnknownPathApi(APIView):
    """Any other path under /api/v1/: a 404 in the API's error format, not Django's HTML page."""

    authentication_classes = []
    permission_classes = []
    schema = None  # not an operation

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise NotFound("No such endpoint.")

    get = post = put = patch = delete = head = options = http_method_not_allowed


urlpatterns = [
    path("stations/", StationListApi.as_view(), name="station-list"),
    path("stations/<int:station_id>/", StationDetailApi.as_view(), name="station-detail"),
    path("locations/", LocationListApi.as_view(), name="location-list"),
    path("locations/<int:location_id>/", LocationDetailApi.as_view(), name="location-detail"),
    path("webhooks/", SubscriptionListApi.as_view(), name="webhook-list"),
    path("webhooks/event-kinds/", EventKindListApi.as_view(), name="webhook-event-kinds"),
    path("webhooks/<int:subscription_id>/", SubscriptionDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<int:subscription_id>/rotate-secret/", SubscriptionSecretRotateApi.as_view(), name="webhook-rotate"),
    path("webhooks/<int:subscription_id>/ping/", SubscriptionPingApi.as_view(), name="webhook-ping"),
    path("webhooks/<int:subscription_id>/deliveries/", DeliveryListApi.as_view(), name="webhook-delivery-list"),
    path(
        "webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/replay/",
        DeliveryReplayApi.as_view(),
        name="webhook-delivery-replay",
    ),
    re_path(r"^.*$", UnknownPathApi.as_view(), name="unknown"),
]
