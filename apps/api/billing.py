"""Read endpoints for billing: CDRs (with their OCPI document as issued) and invoices (with their lines, and as PDF)."""

import json

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.models import Scope
from apps.api.pagination import paginated
from apps.api.permissions import object_or_404
from apps.api.schema import CURSOR_PARAMETERS, page_of
from apps.billing.models import Cdr, Invoice, InvoiceLine
from apps.billing.pdf import invoice_pdf
from apps.billing.selectors.cdrs import cdr_list
from apps.billing.selectors.invoices import invoice_list

# --- CDRs ---------------------------------------------------------------------------------------------------------


class CdrOutput(serializers.ModelSerializer):
    session = serializers.IntegerField(source="session_id", read_only=True)
    station = serializers.IntegerField(source="session.station_id", read_only=True)
    credit_reference = serializers.IntegerField(
        source="credit_reference_id", read_only=True, allow_null=True, help_text="The CDR this credit CDR cancels"
    )
    credited_by = serializers.SerializerMethodField(help_text="The credit CDR that cancels this one, if any")
    review_reasons = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Why the CDR was flagged for review (meter data…)"
    )
    ocpi = serializers.SerializerMethodField(
        help_text="The OCPI 2.2.1 CDR exactly as issued (and hashed): charging_periods, total_cost, tariffs (the "
        "tariff as it was applied), cdr_token, cdr_location, signed_data…; amounts are JSON numbers"
    )

    class Meta:
        model = Cdr
        fields = (
            "id",
            "cdr_id",
            "session",
            "station",
            "revision",
            "credit",
            "credit_reference",
            "credited_by",
            "reason",
            "currency",
            "start_date_time",
            "end_date_time",
            "token_uid",
            "token_group_uid",
            "total_energy_kwh",
            "total_excl_vat",
            "total_incl_vat",
            "tariff_code",
            "needs_review",
            "review_reasons",
            "issued_at",
            "content_hash",
            "ocpi",
        )
        extra_kwargs = {"cdr_id": {"help_text": "The OCPI CDR id"}}

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_credited_by(self, cdr: Cdr) -> int | None:
        credit = getattr(cdr, "credited_by", None)  # the reverse one-to-one raises when there is none
        return credit.pk if credit else None

    @extend_schema_field(serializers.DictField())
    def get_ocpi(self, cdr: Cdr) -> dict:
        # Parsed without Decimals: the stored canonical JSON's numbers go out as the same JSON numbers.
        return json.loads(cdr.ocpi_json)


class CdrListApi(APIView):
    required_scopes = [Scope.CDRS_READ]

    class FilterInput(serializers.Serializer):
        session = serializers.IntegerField(required=False, min_value=1, help_text="A session's id")
        station = serializers.IntegerField(required=False, min_value=1, help_text="A station's id")
        created_after = serializers.DateTimeField(required=False, help_text="Issued at or after")
        created_before = serializers.DateTimeField(required=False, help_text="Issued before")
        ended_after = serializers.DateTimeField(required=False, help_text="Session ended at or after")
        ended_before = serializers.DateTimeField(required=False, help_text="Session ended before")
        credit = serializers.BooleanField(required=False, help_text="Credit CDRs only (true) or none of them (false)")

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(CdrOutput))
    def get(self, request):
        # A plain dict: from a QueryDict DRF reads a missing boolean as false, which would filter by it.
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        cdrs = cdr_list(
            session_id=data.get("session"),
            station_id=data.get("station"),
            issued_after=data.get("created_after"),
            issued_before=data.get("created_before"),
            ended_after=data.get("ended_after"),
            ended_before=data.get("ended_before"),
            credit=data.get("credit"),
        )
        return paginated(request, self, cdrs, CdrOutput, ordering="-id")


class CdrDetailApi(APIView):
    required_scopes = [Scope.CDRS_READ]

    @extend_schema(responses=CdrOutput)
    def get(self, request, cdr_id: int):
        return Response(CdrOutput(object_or_404(request, cdr_list(), pk=cdr_id)).data)


# --- Invoices -----------------------------------------------------------------------------------------------------


class InvoiceLineOutput(serializers.ModelSerializer):
    cdr = serializers.IntegerField(source="cdr_id", read_only=True, allow_null=True)

    class Meta:
        model = InvoiceLine
        fields = ("position", "description", "quantity", "unit", "cdr", "vat_rate", "net", "vat", "gross")


class InvoiceOutput(serializers.ModelSerializer):
    cdr = serializers.IntegerField(source="cdr_id", read_only=True, allow_null=True)
    session = serializers.SerializerMethodField(help_text="The charging session of a receipt or credit note")
    credited_invoice = serializers.IntegerField(source="credited_invoice_id", read_only=True, allow_null=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True, allow_null=True)
    lines = InvoiceLineOutput(many=True, read_only=True)

    class Meta:
        model = Invoice
        fields = (
            "id",
            "number",
            "kind",
            "status",
            "currency",
            "issued_at",
            "cdr",
            "session",
            "credited_invoice",
            "customer",
            "token_uid",
            "token_group_uid",
            "period_start",
            "period_end",
            "total_net",
            "total_vat",
            "total_gross",
            "amount_paid",
            "amount_prepaid",
            "notes",
            "lines",
        )

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_session(self, invoice: Invoice) -> int | None:
        return invoice.cdr.session_id if invoice.cdr_id else None


def _invoices(**filters):
    return invoice_list(**filters).prefetch_related("lines")


class InvoiceListApi(APIView):
    required_scopes = [Scope.INVOICES_READ]

    class FilterInput(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Invoice.Kind.choices, required=False)
        issued_after = serializers.DateTimeField(required=False, help_text="Issued at or after")
        issued_before = serializers.DateTimeField(required=False, help_text="Issued before")
        customer = serializers.IntegerField(required=False, min_value=1, help_text="A payment customer's id")

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(InvoiceOutput))
    def get(self, request):
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        invoices = _invoices(
            kind=data.get("kind"),
            issued_after=data.get("issued_after"),
            issued_before=data.get("issued_before"),
            customer_id=data.get("customer"),
        )
        return paginated(request, self, invoices, InvoiceOutput, ordering="-id")


class InvoiceDetailApi(APIView):
    required_scopes = [Scope.INVOICES_READ]

    @extend_schema(responses=InvoiceOutput)
    def get(self, request, invoice_id: int):
        return Response(InvoiceOutput(get_object_or_404(_invoices(), pk=invoice_id)).data)


class FirstRendererNegotiation(BaseContentNegotiation):
    """Errors in JSON whatever the Accept header (a client asking for a PDF must not get a 406 instead of a 404)."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class InvoicePdfApi(APIView):
    required_scopes = [Scope.INVOICES_READ]
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(
        operation_id="invoices_pdf_retrieve",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The invoice as a PDF"),
        },
    )
    def get(self, request, invoice_id: int):
        invoice = get_object_or_404(_invoices(), pk=invoice_id)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
        return response
