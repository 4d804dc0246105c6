"""The public REST API of a tenant's hosts, under /api/v1/."""

from django.urls import path, re_path
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView

from apps.api import driver_account, driver_charging, driver_network, driver_roaming
from apps.api.analytics import UsageClientListApi, UsageListApi
from apps.api.audit import AuditLogApi
from apps.api.billing import CdrDetailApi, CdrListApi, InvoiceDetailApi, InvoiceListApi, InvoicePdfApi
from apps.api.commands import CommandDetailApi, CommandListApi, command_send_paths
from apps.api.customers import customer_paths
from apps.api.faults import FaultDetailApi, FaultListApi
from apps.api.groups import (
    GroupDetailApi,
    GroupListApi,
    GroupRunCancelApi,
    GroupRunDetailApi,
    GroupRunListApi,
    group_run_start_paths,
)
from apps.api.sessions import SessionDetailApi, SessionListApi, SessionMeterValuesApi
from apps.api.stations import (
    ConnectorListApi,
    EvseDetailApi,
    EvseListApi,
    LocationDetailApi,
    LocationListApi,
    StationDetailApi,
    StationListApi,
)
from apps.api.tariffs import (
    TariffAssignmentCollectionApi,
    TariffAssignmentItemApi,
    TariffCollectionApi,
    TariffItemApi,
    TariffOcpiApi,
)
from apps.api.tokens import IdTokenCollectionApi, IdTokenItemApi
from apps.api.users import UserCollectionApi, UserItemApi
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
    path("stations/<int:station_id>/evses/", EvseListApi.as_view(), name="evse-list"),
    path("stations/<int:station_id>/evses/<int:evse_id>/", EvseDetailApi.as_view(), name="evse-detail"),
    path("connectors/", ConnectorListApi.as_view(), name="connector-list"),
    path("groups/", GroupListApi.as_view(), name="group-list"),
    path("groups/<int:group_id>/", GroupDetailApi.as_view(), name="group-detail"),
    *group_run_start_paths(),
    path("group-runs/", GroupRunListApi.as_view(), name="group-run-list"),
    path("group-runs/<int:run_id>/", GroupRunDetailApi.as_view(), name="group-run-detail"),
    path("group-runs/<int:run_id>/cancel/", GroupRunCancelApi.as_view(), name="group-run-cancel"),
    path("faults/", FaultListApi.as_view(), name="fault-list"),
    path("faults/<int:fault_id>/", FaultDetailApi.as_view(), name="fault-detail"),
    *command_send_paths(),
    path("commands/", CommandListApi.as_view(), name="command-list"),
    path("commands/<int:command_id>/", CommandDetailApi.as_view(), name="command-detail"),
    path("analytics/usage/", UsageListApi.as_view(), name="usage-list"),
    path("analytics/usage/clients/", UsageClientListApi.as_view(), name="usage-client-list"),
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
    path("sessions/", SessionListApi.as_view(), name="session-list"),
    path("sessions/<int:session_id>/", SessionDetailApi.as_view(), name="session-detail"),
    path("sessions/<int:session_id>/meter-values/", SessionMeterValuesApi.as_view(), name="session-meter-values"),
    path("cdrs/", CdrListApi.as_view(), name="cdr-list"),
    path("cdrs/<int:cdr_id>/", CdrDetailApi.as_view(), name="cdr-detail"),
    path("invoices/", InvoiceListApi.as_view(), name="invoice-list"),
    path("invoices/<int:invoice_id>/", InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("invoices/<int:invoice_id>/pdf/", InvoicePdfApi.as_view(), name="invoice-pdf"),
    path("tariffs/", TariffCollectionApi.as_view(), name="tariff-collection"),
    path("tariffs/<int:tariff_id>/", TariffItemApi.as_view(), name="tariff-item"),
    path("tariffs/<int:tariff_id>/ocpi/", TariffOcpiApi.as_view(), name="tariff-ocpi"),
    path("tariff-assignments/", TariffAssignmentCollectionApi.as_view(), name="tariff-assignment-collection"),
    path("tariff-assignments/<int:assignment_id>/", TariffAssignmentItemApi.as_view(), name="tariff-assignment-item"),
    path("tokens/", IdTokenCollectionApi.as_view(), name="token-collection"),
    path("tokens/<int:token_id>/", IdTokenItemApi.as_view(), name="token-item"),
    path("users/", UserCollectionApi.as_view(), name="user-collection"),
    path("users/<int:user_id>/", UserItemApi.as_view(), name="user-item"),
    path("audit-log/", AuditLogApi.as_view(), name="audit-log"),
    # The driver app (issue 9): the public network, a driver's own account, charging.
    *driver_network.urlpatterns_part,
    *driver_account.urlpatterns_part,
    *driver_charging.urlpatterns_part,
    *driver_roaming.urlpatterns_part,
    *customer_paths(),
    re_path(r"^[\s\S]*$", UnknownPathApi.as_view(), name="unknown"),  # any path, with newlines too
]
