"""ID tokens as spreadsheet rows for the operator admin's import and export (docs/admin.md). Rows are written by
`id_token_create` / `id_token_update`, so an import follows the same rules as the API: a uid the brand already has
for the type in another letter case is the same token, and groups are one level deep."""

from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Value, When
from import_export import fields, widgets

from apps.accounts.spreadsheets import (
    BooleanWidget,
    ChoiceWidget,
    OperatorResource,
    TextWidget,
    UtcDateTimeWidget,
    cell_text,
    formula_escape,
    formula_unescape,
)
from apps.sessions.models import IdToken
from apps.sessions.services import id_token_create, id_token_update

TOKEN_FIELDS = ("uid", "type", "status", "expires_at", "group", "allow_concurrent", "label")


def id_token_find(uid: str, type: str | None = None) -> list[IdToken]:
    """Tokens with this uid in any letter case (of this type, if given), the exact spelling first."""
    tokens = IdToken.objects.filter(uid__iexact=uid)
    if type:
        tokens = tokens.filter(type=type)
    exact_first = Case(When(uid=uid, then=Value(0)), default=Value(1), output_field=IntegerField())
    return list(tokens.order_by(exact_first, "pk")[:2])


class GroupWidget(widgets.Widget):
    """The group token by its uid; the `group_type` column picks one when several types share that uid."""

    def clean(self, value, row=None, **kwargs):
        uid = formula_unescape(cell_text(value))
        if not uid:
            return None
        type = ChoiceWidget(IdToken.Type.choices, blank="").clean((row or {}).get("group_type"))
        found = id_token_find(uid, type)
        if not found:
            raise ValueError(f"No token has the uid {uid!r}: a group token must exist or come on an earlier line.")
        if len(found) > 1 and not type:
            raise ValueError(f"Several tokens have the uid {uid!r}: give the group's type in group_type.")
        return found[0]

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else formula_escape(value.uid)


class IdTokenResource(OperatorResource):
    uid = fields.Field(attribute="uid", widget=TextWidget())
    type = fields.Field(attribute="type", widget=ChoiceWidget(IdToken.Type.choices, blank=IdToken.Type.ISO14443))
    status = fields.Field(
        attribute="status",
        widget=ChoiceWidget(IdToken.Status.choices, blank=IdToken.Status.ACCEPTED),
    )
    expires_at = fields.Field(attribute="expires_at", widget=UtcDateTimeWidget())
    group = fields.Field(attribute="group", widget=GroupWidget())
    group_type = fields.Field(attribute="group__type", readonly=True)
    allow_concurrent = fields.Field(attribute="allow_concurrent", widget=BooleanWidget())
    label = fields.Field(attribute="label", widget=TextWidget())

    class Meta(OperatorResource.Meta):
        abstract = False
        model = IdToken
        name = "ID tokens"
        import_id_fields = ("uid",)  # with the type, by get_instance
        fields = ("uid", "type", "status", "expires_at", "group", "group_type", "allow_concurrent", "label")
        export_order = fields

    def get_instance(self, instance_loader, row):
        """The token with this uid in any letter case: stations' uids are matched so, and the brand has one."""
        try:
            uid = self.fields["uid"].widget.clean(row.get("uid"))
            type = self.fields["type"].widget.clean(row.get("type"))
        except ValueError:
            return None  # reported for the field when the row is read
        found = id_token_find(uid, type) if uid else []
        return found[0] if found else None

    def import_instance(self, instance: IdToken, row, **kwargs):
        errors: dict = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        try:
            self.key_check((instance.uid.lower(), instance.type), kwargs["row_number"], "uid", "uid and type")
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def do_instance_save(self, instance: IdToken, is_create: bool):
        values = {name: getattr(instance, name) for name in TOKEN_FIELDS}
        if is_create:
            saved = id_token_create(**values)
            instance.pk, instance.uid, instance.created_at = saved.pk, saved.uid, saved.created_at
        else:
            id_token_update(id_token=instance, **values)
