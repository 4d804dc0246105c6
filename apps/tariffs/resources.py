"""Tariffs as spreadsheet rows for the operator admin's import and export: the OCPI elements as JSON in one column
(docs/admin.md). Rows are written by `tariff_create` / `tariff_update`, so the elements are validated as everywhere
else and errors name the element."""

import json

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from import_export import fields, widgets

from apps.accounts.spreadsheets import (
    ChoiceWidget,
    DecimalWidget,
    IntegerWidget,
    OperatorResource,
    TextWidget,
    UtcDateTimeWidget,
    cell_text,
)
from apps.tariffs.definition import elements_dump, elements_parse
from apps.tariffs.exceptions import TariffInvalidError
from apps.tariffs.models import DecimalJSONDecoder, Tariff
from apps.tariffs.services import tariff_create, tariff_update


def json_stored(value):
    """`value` as the JSON field stores and reads it back (Decimals as strings)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder), cls=DecimalJSONDecoder)


class JSONWidget(widgets.Widget):
    """A JSON value in one cell, written compactly; numbers with a fraction are read as Decimal, never float."""

    def __init__(self, *, blank):
        super().__init__()
        self.blank = blank

    def clean(self, value, row=None, **kwargs):
        text = cell_text(value)
        if not text:
            return self.blank()
        try:
            return json.loads(text, cls=DecimalJSONDecoder)
        except json.JSONDecodeError as error:
            raise ValueError(f"Not valid JSON: {error.msg} at character {error.pos + 1}.") from None

    def render(self, value, obj=None, **kwargs):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)


class ElementsWidget(JSONWidget):
    """OCPI TariffElements, in order. Valid elements are read in their stored form, so an unchanged tariff written
    another way (a price as a number rather than a string) is not an update; invalid ones are refused on save."""

    def clean(self, value, row=None, **kwargs):
        elements = super().clean(value, row, **kwargs)
        try:
            return json_stored(elements_dump(elements_parse(elements)))
        except TariffInvalidError:
            return elements


class TariffResource(OperatorResource):
    code = fields.Field(attribute="code", widget=TextWidget())
    name = fields.Field(attribute="name", widget=TextWidget())
    currency = fields.Field(attribute="currency", widget=TextWidget())
    type = fields.Field(attribute="type", widget=ChoiceWidget(Tariff.Type.choices, blank=""))
    start_date_time = fields.Field(attribute="start_date_time", widget=UtcDateTimeWidget())
    end_date_time = fields.Field(attribute="end_date_time", widget=UtcDateTimeWidget())
    elements = fields.Field(attribute="elements", widget=ElementsWidget(blank=list))
    min_price_excl_vat = fields.Field(attribute="min_price_excl_vat", widget=DecimalWidget())
    min_price_incl_vat = fields.Field(attribute="min_price_incl_vat", widget=DecimalWidget())
    max_price_excl_vat = fields.Field(attribute="max_price_excl_vat", widget=DecimalWidget())
    max_price_incl_vat = fields.Field(attribute="max_price_incl_vat", widget=DecimalWidget())
    parking_grace_minutes = fields.Field(attribute="parking_grace_minutes", widget=IntegerWidget(blank=0))
    parking_fee_cap = fields.Field(attribute="parking_fee_cap", widget=DecimalWidget())
    tariff_alt_text = fields.Field(attribute="tariff_alt_text", widget=JSONWidget(blank=list))
    tariff_alt_url = fields.Field(attribute="tariff_alt_url", widget=TextWidget())

    class Meta(OperatorResource.Meta):
        abstract = False
        model = Tariff
        name = "Tariffs"
        import_id_fields = ("code",)
        fields = Tariff.OPERATOR_FIELDS
        export_order = fields

    def import_instance(self, instance: Tariff, row, **kwargs):
        errors: dict = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        instance.currency = (instance.currency or "").upper()
        try:
            self.key_check(instance.code, kwargs["row_number"], "code", "code")
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def do_instance_save(self, instance: Tariff, is_create: bool):
        values = {name: getattr(instance, name) for name in self._meta.fields}
        if is_create:
            saved = tariff_create(**values)
            instance.pk, instance.created_at, instance.updated_at = saved.pk, saved.created_at, saved.updated_at
        else:
            tariff_update(tariff=instance, **values)
