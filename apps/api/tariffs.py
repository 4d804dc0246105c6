"""Tariffs: the brand's price lists with their OCPI 2.2.1 elements (and the OCPI Tariff object partners get), and
where they apply (assignments), read and written through apps.tariffs."""

import json
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.models import Scope
from apps.api.pagination import paginated
from apps.api.permissions import ScopesByMethod
from apps.api.schema import CURSOR_PARAMETERS, ErrorBody, page_of
from apps.api.validation import text_filter, written
from apps.billing.ocpi import canonical_json
from apps.billing.services.cdrs import party
from apps.groups.selectors import group_list
from apps.stations.models import Connector
from apps.stations.selectors import connector_list, location_list
from apps.tariffs.definition import DAYS, Dimension, Reservation, elements_dump
from apps.tariffs.exceptions import TariffInUseError, TariffInvalidError
from apps.tariffs.models import Tariff, TariffAssignment
from apps.tariffs.ocpi import tariff_to_ocpi
from apps.tariffs.selectors import CustomerGroup, tariff_assignment_list, tariff_list
from apps.tariffs.services import (
    tariff_assignment_create,
    tariff_assignment_delete,
    tariff_create,
    tariff_delete,
    tariff_update,
)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the object's current state."
    default_code = "conflict"


# --- the OpenAPI shape of OCPI elements -------------------------------------------------------------------------
# Elements are validated by apps.tariffs (the same rules as the admin), not by serializer fields; these schemas only
# describe them. Numbers are answered as decimal strings and accepted as strings or JSON numbers.

DECIMAL_OUT = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
DECIMAL_IN = {"oneOf": [{"type": "string", "format": "decimal"}, {"type": "number"}]}


def _elements_schema(decimal: dict) -> dict:
    component = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": [str(d) for d in Dimension]},
            "price": {**decimal, "description": "Excl. VAT: per kWh, per hour or per session"},
            "vat": {**decimal, "description": "Percent; absent: no VAT applies"},
            "step_size": {
                "type": "integer",
                "minimum": 1,
                "description": "Wh for ENERGY, seconds for (PARKING_)TIME; FLAT: 1 if left out",
            },
        },
        "required": ["type", "price"],
        "additionalProperties": False,
    }
    restrictions = {
        "type": "object",
        "properties": {
            "start_time": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
            "end_time": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
            "start_date": {"type": "string", "format": "date"},
            "end_date": {"type": "string", "format": "date"},
            **dict.fromkeys(("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power"), decimal),
            "min_duration": {"type": "integer", "minimum": 0},
            "max_duration": {"type": "integer", "minimum": 0},
            "day_of_week": {"type": "array", "items": {"type": "string", "enum": list(DAYS)}},
            "reservation": {"type": "string", "enum": [str(r) for r in Reservation]},
        },
        "additionalProperties": False,
    }
    element = {
        "type": "object",
        "properties": {
            "price_components": {"type": "array", "minItems": 1, "items": component},
            "restrictions": restrictions,
        },
        "required": ["price_components"],
        "additionalProperties": False,
    }
    return {"type": "array", "minItems": 1, "items": element}


ALT_TEXT_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"language": {"type": "string", "example": "en"}, "text": {"type": "string"}},
        "required": ["language", "text"],
    },
}


@extend_schema_field(_elements_schema(DECIMAL_OUT))
class ElementsOutputField(serializers.Field):
    """The elements in OCPI shape as validated (unset fields left out), Decimals as exact strings."""

    def to_representation(self, tariff: Tariff):
        try:
            elements = elements_dump(tariff.parsed_elements)
        except TariffInvalidError:  # only rows written around validation; shown as stored
            elements = tariff.elements
        return json.loads(json.dumps(elements, cls=_PlainDecimalEncoder))


class _PlainDecimalEncoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, Decimal):
            return format(o, "f")  # never "1E+1"
        return super().default(o)


@extend_schema_field(_elements_schema(DECIMAL_IN))
class ElementsInputField(serializers.JSONField):
    pass


@extend_schema_field(ALT_TEXT_SCHEMA)
class AltTextField(serializers.JSONField):
    pass


class TariffOutput(serializers.ModelSerializer):
    elements = ElementsOutputField(source="*")
    tariff_alt_text = AltTextField()

    class Meta:
        model = Tariff
        fields = (
            "id",
            "code",
            "name",
            "currency",
            "type",
            "elements",
            "min_price_excl_vat",
            "min_price_incl_vat",
            "max_price_excl_vat",
            "max_price_incl_vat",
            "start_date_time",
            "end_date_time",
            "parking_grace_minutes",
            "parking_fee_cap",
            "tariff_alt_text",
            "tariff_alt_url",
            "created_at",
            "updated_at",
        )


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True, required=False, **kwargs)


class TariffInput(serializers.Serializer):
    """Types only: what a tariff may be is decided by apps.tariffs (the admin's rules)."""

    code = serializers.CharField(max_length=36, help_text="The OCPI Tariff.id partners see; fixed once created")
    name = serializers.CharField(max_length=100)
    currency = serializers.CharField(max_length=3, help_text="ISO 4217, e.g. EUR")
    type = serializers.ChoiceField(choices=Tariff.Type.choices, allow_blank=True, required=False)
    elements = ElementsInputField(help_text="OCPI TariffElements, in order: the unrestricted fallback last")
    min_price_excl_vat = _money()
    min_price_incl_vat = _money()
    max_price_excl_vat = _money()
    max_price_incl_vat = _money()
    start_date_time = serializers.DateTimeField(allow_null=True, required=False)
    end_date_time = serializers.DateTimeField(allow_null=True, required=False)
    parking_grace_minutes = serializers.IntegerField(min_value=0, max_value=2_147_483_647, required=False)
    parking_fee_cap = _money()
    tariff_alt_text = AltTextField(required=False)
    tariff_alt_url = serializers.URLField(max_length=200, allow_blank=True, required=False)


# What a schema cannot say, in the operations' descriptions: a schema-valid body may still get a 400 for it.
TARIFF_RULES = (
    "The admin's rules apply (docs/tariffs.md), answered with a 400 naming the field and element: a known ISO 4217 "
    "currency, a unique code, one component per dimension in an element, min below max, no element that can never "
    "apply, min price not above max price. PATCH validates the whole tariff and cannot change the code."
)


class TariffCollectionApi(ScopesByMethod, APIView):
    """GET lists the brand's tariffs; POST creates one."""

    scopes_by_method = {"GET": [Scope.TARIFFS_READ], "POST": [Scope.TARIFFS_WRITE]}

    class FilterInput(serializers.Serializer):
        code = text_filter(max_length=36)
        currency = text_filter(max_length=3)
        type = serializers.ChoiceField(choices=Tariff.Type.choices, required=False)

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(TariffOutput))
    def get(self, request):
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        return paginated(request, self, tariff_list(**filters.validated_data), TariffOutput)

    @extend_schema(request=TariffInput, responses={201: TariffOutput}, description=TARIFF_RULES)
    def post(self, request):
        data = TariffInput(data=request.data)
        data.is_valid(raise_exception=True)
        tariff = written(lambda: tariff_create(**data.validated_data))
        return Response(TariffOutput(tariff).data, status=status.HTTP_201_CREATED)


class TariffItemApi(ScopesByMethod, APIView):
    """GET reads a tariff; PATCH changes some of its fields (validated whole, as in the admin); DELETE removes one
    that nothing uses."""

    scopes_by_method = {"GET": [Scope.TARIFFS_READ], "PATCH": [Scope.TARIFFS_WRITE], "DELETE": [Scope.TARIFFS_WRITE]}

    @extend_schema(responses=TariffOutput)
    def get(self, request, tariff_id: int):
        return Response(TariffOutput(get_object_or_404(tariff_list(), pk=tariff_id)).data)

    @extend_schema(request=TariffInput(partial=True), responses=TariffOutput, description=TARIFF_RULES)
    def patch(self, request, tariff_id: int):
        tariff = get_object_or_404(tariff_list(), pk=tariff_id)
        data = TariffInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if fields.get("code", tariff.code) != tariff.code:
            # Partners and CDRs know a tariff by its code: a new code is a new tariff.
            raise ValidationError({"code": ["The tariff id cannot be changed; create another tariff instead."]})
        tariff = written(lambda: tariff_update(tariff=tariff, **fields))
        return Response(TariffOutput(tariff).data)

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Deleted"),
            409: OpenApiResponse(
                ErrorBody, description="`tariff_in_use`: the tariff has assignments or priced CDRs; end its validity"
            ),
        }
    )
    def delete(self, request, tariff_id: int):
        tariff = get_object_or_404(tariff_list(), pk=tariff_id)
        try:
            tariff_delete(tariff=tariff)
        except TariffInUseError as in_use:
            raise Conflict(
                f"The tariff is in use ({in_use.assignments} assignment(s), {in_use.cdrs} CDR(s)): remove its "
                "assignments, or set end_date_time to retire it.",
                code="tariff_in_use",
            ) from in_use
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the OCPI 2.2.1 Tariff object -----------------------------------------------------------------------------------

OCPI_NUMBER = {"type": "number"}
OCPI_PRICE = {
    "type": "object",
    "properties": {"excl_vat": OCPI_NUMBER, "incl_vat": OCPI_NUMBER},
    "required": ["excl_vat"],
    "additionalProperties": False,
}
OCPI_DATETIME = {"type": "string", "format": "date-time", "description": "UTC, seconds precision, Z"}
OCPI_TARIFF_SCHEMA = {
    "type": "object",
    "description": "OCPI 2.2.1 Tariff (module Tariffs, 11.3.1); optional fields are left out when unset",
    "properties": {
        "country_code": {"type": "string", "description": "ISO 3166-1 alpha-2 of the CPO (OCPI_COUNTRY_CODE)"},
        "party_id": {"type": "string", "description": "The CPO's party id (OCPI_PARTY_ID)"},
        "id": {"type": "string", "maxLength": 36, "description": "The tariff's code"},
        "currency": {"type": "string", "minLength": 3, "maxLength": 3},
        "type": {"type": "string", "enum": list(Tariff.Type.values)},
        "tariff_alt_text": ALT_TEXT_SCHEMA,
        "tariff_alt_url": {"type": "string", "format": "uri"},
        "min_price": OCPI_PRICE,
        "max_price": OCPI_PRICE,
        "elements": _elements_schema(OCPI_NUMBER),
        "start_date_time": OCPI_DATETIME,
        "end_date_time": OCPI_DATETIME,
        "last_updated": OCPI_DATETIME,
    },
    "required": ["country_code", "party_id", "id", "currency", "elements", "last_updated"],
    "additionalProperties": False,
}


class TariffOcpiApi(APIView):
    required_scopes = [Scope.TARIFFS_READ]

    @extend_schema(
        responses={
            200: OpenApiResponse(OCPI_TARIFF_SCHEMA, "The OCPI Tariff object"),
            409: OpenApiResponse(
                ErrorBody, "`tariff_invalid`: the stored tariff breaks OCPI (written around validation); fix it"
            ),
        }
    )
    def get(self, request, tariff_id: int):
        """The tariff as roaming partners get it (and as CDRs carry it): OCPI numbers are JSON numbers, exact to
        the stored decimals; the platform's idle-fee extensions (grace, cap) have no OCPI field and are left out."""
        tariff = get_object_or_404(tariff_list(), pk=tariff_id)
        country_code, party_id = party()
        try:
            document = tariff_to_ocpi(tariff, country_code=country_code, party_id=party_id)
        except TariffInvalidError as invalid:
            raise Conflict(f"The tariff cannot be given in OCPI: {invalid}", code="tariff_invalid") from invalid
        # The canonical JSON of CDRs: Decimals as exact JSON numbers, datetimes as OCPI DateTimes.
        return Response(json.loads(canonical_json(document)))


# --- tariff assignments --------------------------------------------------------------------------------------------

PG_SMALLINT = 32_767
ASSIGNMENT_SCOPES = [
    ("location", "Every station of the location"),
    ("station_group", "Every station of the group, as it is at the time"),
    ("connector", "One connector"),
]
PG_INT_MAX = 2_147_483_647  # EVSE and connector numbers are int columns


class ConnectorRefOutput(serializers.ModelSerializer):
    station = serializers.IntegerField(source="evse.station_id", read_only=True)
    station_identity = serializers.CharField(source="evse.station.identity", read_only=True)
    evse_id = serializers.IntegerField(source="evse.evse_id", read_only=True)

    class Meta:
        model = Connector
        fields = ("station", "station_identity", "evse_id", "connector_id")
        read_only_fields = fields


class TariffAssignmentOutput(serializers.ModelSerializer):
    tariff = serializers.IntegerField(source="tariff_id", read_only=True)
    tariff_code = serializers.CharField(source="tariff.code", read_only=True)
    scope = serializers.SerializerMethodField(help_text="Which of location, station_group or connector it names")
    location = serializers.IntegerField(source="location_id", read_only=True, allow_null=True)
    station_group = serializers.IntegerField(source="station_group_id", read_only=True, allow_null=True)
    connector = ConnectorRefOutput(read_only=True, allow_null=True, help_text="A connector by the station's numbering")

    class Meta:
        model = TariffAssignment
        fields = (
            "id",
            "tariff",
            "tariff_code",
            "scope",
            "location",
            "station_group",
            "connector",
            "customer_group_type",
            "customer_group_ref",
            "valid_from",
            "valid_until",
            "priority",
            "created_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=ASSIGNMENT_SCOPES))
    def get_scope(self, assignment: TariffAssignment) -> str:
        if assignment.connector_id:
            return "connector"
        return "station_group" if assignment.station_group_id else "location"


class ConnectorRefInput(serializers.Serializer):
    station = serializers.IntegerField(min_value=1, help_text="The station's id")
    evse_id = serializers.IntegerField(min_value=1, max_value=PG_INT_MAX, help_text="The station's EVSE number")
    connector_id = serializers.IntegerField(min_value=1, max_value=PG_INT_MAX, help_text="The EVSE's connector number")


class TariffAssignmentInput(serializers.Serializer):
    """Types only: what an assignment may be is decided by apps.tariffs (`tariff_assignment_create`)."""

    tariff = serializers.IntegerField(min_value=1, help_text="The tariff's id")
    location = serializers.IntegerField(min_value=1, required=False, allow_null=True, help_text="A location's id")
    station_group = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="A station group's id"
    )
    connector = ConnectorRefInput(required=False, allow_null=True)
    customer_group_type = serializers.ChoiceField(
        choices=TariffAssignment.CustomerGroupType.choices, default=TariffAssignment.CustomerGroupType.ALL
    )
    customer_group_ref = serializers.CharField(
        max_length=64,
        allow_blank=True,
        default="",
        help_text="The plan, fleet or roaming partner (e.g. NL*ABC); empty for all customers",
    )
    valid_from = serializers.DateTimeField(allow_null=True, required=False, help_text="null: from the start")
    valid_until = serializers.DateTimeField(
        allow_null=True, required=False, help_text="Exclusive; null: until further notice"
    )
    priority = serializers.IntegerField(
        min_value=-PG_SMALLINT - 1,
        max_value=PG_SMALLINT,
        default=0,
        help_text="Higher wins between equally specific assignments",
    )


ASSIGNMENT_RULES = (
    "Exactly one of `location`, `station_group` or `connector` (else a 400 naming the ones given, or all three). "
    "Ids of objects this brand does not have (another brand's too) are a 400 naming the field. A customer group "
    "other than `all` needs `customer_group_ref`, and `all` takes none; `valid_until` must be after `valid_from`."
)


def _known(queryset, pk: int | None, field: str, noun: str, errors: dict):
    """The object with `pk` in this brand, or None with the field's error recorded."""
    if pk is None:
        return None
    found = queryset.filter(pk=pk).first()
    if found is None:
        errors[field] = [f"No {noun} {pk} in this brand."]
    return found


class TariffAssignmentCollectionApi(ScopesByMethod, APIView):
    """GET lists where tariffs apply; POST assigns a tariff somewhere."""

    permission_model = "tariffs.tariffassignment"  # for a person's role (apps.api.permissions)
    scopes_by_method = {"GET": [Scope.TARIFFS_READ], "POST": [Scope.TARIFFS_WRITE]}

    class FilterInput(serializers.Serializer):
        tariff = serializers.IntegerField(required=False, min_value=1, help_text="A tariff's id")
        location = serializers.IntegerField(required=False, min_value=1, help_text="Assignments at this location")
        station_group = serializers.IntegerField(required=False, min_value=1, help_text="Assignments to this group")
        station = serializers.IntegerField(
            required=False, min_value=1, help_text="Assignments to connectors of this station"
        )
        evse_id = serializers.IntegerField(
            required=False, min_value=1, max_value=PG_INT_MAX, help_text="With station: of this EVSE"
        )
        connector_id = serializers.IntegerField(
            required=False, min_value=1, max_value=PG_INT_MAX, help_text="With station and evse_id: this connector"
        )
        customer_group_type = serializers.ChoiceField(
            choices=TariffAssignment.CustomerGroupType.choices, required=False
        )
        customer_group_ref = text_filter(max_length=64, help_text="Exact")
        active_at = serializers.DateTimeField(
            required=False, help_text="Valid at this instant: valid_from <= active_at < valid_until"
        )

        def validate(self, data):
            if "evse_id" in data and "station" not in data:
                raise serializers.ValidationError({"evse_id": ["Give station too: EVSE numbers are per station."]})
            if "connector_id" in data and "evse_id" not in data:
                raise serializers.ValidationError(
                    {"connector_id": ["Give station and evse_id too: connector numbers are per EVSE."]}
                )
            return data

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(TariffAssignmentOutput))
    def get(self, request):
        """Oldest first. All assignments as stored; which one applies to a session is decided by specificity, then
        priority (docs/tariffs.md)."""
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        assignments = tariff_assignment_list(
            tariff_id=data.get("tariff"),
            location_id=data.get("location"),
            station_group_id=data.get("station_group"),
            station_id=data.get("station"),
            evse_id=data.get("evse_id"),
            connector_id=data.get("connector_id"),
            customer_group_type=data.get("customer_group_type"),
            customer_group_ref=data.get("customer_group_ref"),
            active_at=data.get("active_at"),
        )
        return paginated(request, self, assignments, TariffAssignmentOutput)

    @extend_schema(request=TariffAssignmentInput, responses={201: TariffAssignmentOutput}, description=ASSIGNMENT_RULES)
    def post(self, request):
        body = TariffAssignmentInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        errors: dict = {}
        tariff = _known(tariff_list(), data["tariff"], "tariff", "tariff", errors)
        location = _known(location_list(), data.get("location"), "location", "location", errors)
        group = _known(group_list(), data.get("station_group"), "station_group", "station group", errors)
        connector = None
        if (ref := data.get("connector")) is not None:
            connector = (
                connector_list(station_id=ref["station"])
                .filter(evse__evse_id=ref["evse_id"], connector_id=ref["connector_id"])
                .first()
            )
            if connector is None:
                errors["connector"] = [
                    f"No connector {ref['connector_id']} on EVSE {ref['evse_id']} of station {ref['station']} in this "
                    "brand."
                ]
        if errors:
            raise ValidationError(errors)
        group_type, group_ref = data["customer_group_type"], data["customer_group_ref"]
        everyone = group_type == TariffAssignment.CustomerGroupType.ALL and not group_ref
        assignment = written(
            lambda: tariff_assignment_create(
                tariff=tariff,
                location=location,
                station_group=group,
                connector=connector,
                customer_group=None if everyone else CustomerGroup(type=group_type, ref=group_ref),
                valid_from=data.get("valid_from"),
                valid_until=data.get("valid_until"),
                priority=data["priority"],
            )
        )
        return Response(
            TariffAssignmentOutput(tariff_assignment_list().get(pk=assignment.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class TariffAssignmentItemApi(ScopesByMethod, APIView):
    """GET reads an assignment; DELETE removes it (the tariff no longer applies there)."""

    permission_model = "tariffs.tariffassignment"  # for a person's role (apps.api.permissions)
    scopes_by_method = {"GET": [Scope.TARIFFS_READ], "DELETE": [Scope.TARIFFS_WRITE]}

    @extend_schema(responses=TariffAssignmentOutput)
    def get(self, request, assignment_id: int):
        return Response(TariffAssignmentOutput(get_object_or_404(tariff_assignment_list(), pk=assignment_id)).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted")})
    def delete(self, request, assignment_id: int):
        """Sessions already rated keep their CDRs; sessions starting from now get the next applicable tariff."""
        assignment = get_object_or_404(tariff_assignment_list(), pk=assignment_id)
        tariff_assignment_delete(assignment=assignment)
        return Response(status=status.HTTP_204_NO_CONTENT)
