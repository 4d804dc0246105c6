"""Tariffs: the brand's price lists with their OCPI 2.2.1 elements, read and written through apps.tariffs."""

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
from apps.tariffs.definition import DAYS, Dimension, Reservation, elements_dump
from apps.tariffs.exceptions import TariffInUseError, TariffInvalidError
from apps.tariffs.models import Tariff
from apps.tariffs.selectors import tariff_list
from apps.tariffs.services import tariff_create, tariff_delete, tariff_update


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
