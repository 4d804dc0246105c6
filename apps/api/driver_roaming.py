"""The driver app's sessions at other networks' stations (the brand is their eMSP, apps.roaming): what the CPO
reports of them, live while they run, and the receipt once the CPO's CDR is billed (apps.roaming.receipts).
`me:read`, the driver's own only."""

from decimal import Decimal

from django.urls import path, reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView

from apps.api.billing import FirstRendererNegotiation
from apps.api.driver_charging import PDF, RunningCostOutput, money_text, receipt_response
from apps.api.models import Scope
from apps.api.pagination import IdCursorPagination
from apps.api.schema import page_of
from apps.roaming.models import PartnerSession
from apps.roaming.selectors import partner_session_locations, partner_session_receipts, partner_sessions_of_owner

# OCPI SessionStatus as the app's session statuses (RESERVATION and PENDING: not charging yet).
STATUSES = {"ACTIVE": "active", "COMPLETED": "completed", "INVALID": "failed", "PENDING": "pending"}
STATUSES["RESERVATION"] = "pending"

RoamingLocationOutput = inline_serializer(
    name="DriverRoamingLocation",
    fields={
        "name": serializers.CharField(allow_null=True),
        "city": serializers.CharField(allow_null=True),
        "operator": serializers.CharField(help_text="The CPO's party (country code*party id)"),
        "network": serializers.CharField(help_text="The roaming partner it came through"),
    },
)


class DriverRoamingSessionOutput(serializers.Serializer):
    """A session at another network's station as its driver sees it. Needs `request`, and `locations` and
    `receipts` of the page (partner_session_locations, partner_session_receipts) in the context."""

    id = serializers.IntegerField()
    status = serializers.SerializerMethodField()
    started_at = serializers.DateTimeField(source="start_date_time", allow_null=True)
    ended_at = serializers.DateTimeField(source="end_date_time", allow_null=True)
    energy_kwh = serializers.SerializerMethodField()
    cost = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    receipt_url = serializers.SerializerMethodField()

    def get_status(self, session: PartnerSession) -> str:
        return STATUSES.get(session.status, "pending")

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=3))
    def get_energy_kwh(self, session: PartnerSession) -> str:
        return f"{session.kwh:.3f}"

    @extend_schema_field(RunningCostOutput(allow_null=True))
    def get_cost(self, session: PartnerSession) -> dict | None:
        """The receipt's total once billed, else what the CPO reports so far (incl. VAT when they give it)."""
        receipt = self.context["receipts"].get(session.pk)
        if receipt is not None:
            return {"currency": receipt.currency, "amount_incl_vat": money_text(receipt.total_gross, receipt.currency)}
        total = session.data.get("total_cost") or {}
        amount = total.get("incl_vat", total.get("excl_vat"))
        if amount is None or not session.currency:
            return None
        return {"currency": session.currency, "amount_incl_vat": money_text(Decimal(str(amount)), session.currency)}

    @extend_schema_field(RoamingLocationOutput)
    def get_location(self, session: PartnerSession) -> dict:
        key = (session.partner_id, session.country_code, session.party_id, str(session.data.get("location_id", "")))
        location = self.context["locations"].get(key)
        data = location.data if location else {}
        return {
            "name": data.get("name"),
            "city": data.get("city"),
            "operator": f"{session.country_code}*{session.party_id}",
            "network": session.partner.name,
        }

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_receipt_url(self, session: PartnerSession) -> str | None:
        if session.pk not in self.context["receipts"]:
            return None
        path_ = reverse("api:me-roaming-session-receipt", kwargs={"session_id": session.pk})
        return self.context["request"].build_absolute_uri(path_)


class MyRoamingSessionListApi(APIView):
    required_scopes = [Scope.ME_READ]

    @extend_schema(operation_id="me_roaming_sessions_list", responses=page_of(DriverRoamingSessionOutput))
    def get(self, request):
        """The driver's sessions at other networks' stations, latest first."""
        paginator = IdCursorPagination()
        paginator.ordering = "-id"
        page = paginator.paginate_queryset(partner_sessions_of_owner(user=request.user.user), request, view=self)
        context = {
            "request": request,
            "locations": partner_session_locations(page),
            "receipts": partner_session_receipts(page),
        }
        return paginator.get_paginated_response(DriverRoamingSessionOutput(page, many=True, context=context).data)


class MyRoamingSessionReceiptApi(APIView):
    required_scopes = [Scope.ME_READ]
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(operation_id="me_roaming_sessions_receipt_retrieve", responses=PDF)
    def get(self, request, session_id: int):
        """The session's receipt; 404 `receipt_not_ready` until the CPO's CDR came and was billed."""
        session = partner_sessions_of_owner(user=request.user.user).filter(pk=session_id).first()
        if session is None:
            raise NotFound("No such session of yours.", code="not_found")
        receipt = partner_session_receipts([session]).get(session.pk)
        if receipt is None:
            raise NotFound("The receipt is issued once the operator's CDR has come.", code="receipt_not_ready")
        return receipt_response(receipt)


urlpatterns_part: list = [
    path("me/roaming-sessions/", MyRoamingSessionListApi.as_view(), name="me-roaming-session-list"),
    path(
        "me/roaming-sessions/<int:session_id>/receipt.pdf",
        MyRoamingSessionReceiptApi.as_view(),
        name="me-roaming-session-receipt",
    ),
]
