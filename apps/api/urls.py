"""The public REST API of a tenant's hosts, under /api/v1/."""

from django.urls import path, re_path
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView

from apps.api.stations import LocationDetailApi, LocationListApi, StationDetailApi, StationListApi
from apps.api.tariffs import TariffCollectionApi, TariffItemApi
from apps.api.tokens import IdTokenCollectionApi, IdTokenItemApi
from apps.api.users import UserCollectionApi, UserItemApi

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
    path("tariffs/", TariffCollectionApi.as_view(), name="tariff-collection"),
    path("tariffs/<int:tariff_id>/", TariffItemApi.as_view(), name="tariff-item"),
    path("tokens/", IdTokenCollectionApi.as_view(), name="token-collection"),
    path("tokens/<int:token_id>/", IdTokenItemApi.as_view(), name="token-item"),
    path("users/", UserCollectionApi.as_view(), name="user-collection"),
    path("users/<int:user_id>/", UserItemApi.as_view(), name="user-item"),
    # [\s\S], not ".": a path with a newline (%0A) is an unknown path too.
    re_path(r"^[\s\S]*$", UnknownPathApi.as_view(), name="unknown"),
]
