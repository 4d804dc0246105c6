"""Stations as spreadsheet rows for the operator admin's import and export: one row per station, its location by
name (or id), its EVSEs and connectors in one `connectors` column (docs/admin.md). Password hashes never leave."""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Count
from django.db.models.functions import Lower
from import_export import fields, widgets

from apps.accounts.spreadsheets import (
    ChoiceWidget,
    OperatorResource,
    TextWidget,
    cell_text,
    formula_escape,
    formula_unescape,
)
from apps.stations.models import Connector, Evse, Location, Station
from apps.stations.services import station_password_set

# What a new station's identity may be: the last segment of its connection URL (at most 48 characters, no '/')
# and its HTTP Basic username (no ':'); whitespace would not survive in either.
IDENTITY_FORBIDDEN = re.compile(r"[/:\s\x00-\x1f\x7f]")
PASSWORD_MIN_LENGTH = 16  # as the admin's station form
NUMBER_MAX = 2**31 - 1  # EVSE and connector numbers and powers are PositiveIntegerFields


class LocationWidget(widgets.Widget):
    """A location by name (any letter case), or by id where names are shared. Exported as the name, or the id
    when another location has the same name."""

    def __init__(self):
        super().__init__()
        self.shared_names: set[str] | None = None

    def clean(self, value, row=None, **kwargs):
        text = formula_unescape(cell_text(value))
        if not text:
            return None
        named = list(Location.objects.filter(name__iexact=text)[:2])
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise ValueError(f"Several locations are named {text!r}: give the location's id instead.")
        if text.isdigit():
            location = Location.objects.filter(pk=int(text)).first()
            if location is not None:
                return location
        raise ValueError(f"No location is named {text!r} (nor has that id). Create it first.")

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        if self.shared_names is None:
            self.shared_names = set(
                Location.objects.annotate(key=Lower("name"))
                .values("key")
                .annotate(count=Count("id"))
                .filter(count__gt=1)
                .values_list("key", flat=True)
            )
        return str(value.pk) if value.name.lower() in self.shared_names else formula_escape(value.name)


@dataclass(frozen=True)
class ConnectorSpec:
    evse_id: int
    connector_id: int
    standard: str
    format: str
    power_type: str
    max_power_w: int

    def text(self) -> str:
        return f"{self.evse_id}/{self.connector_id} {self.standard} {self.format} {self.power_type} {self.max_power_w}"

    @classmethod
    def of(cls, evse: Evse, connector: Connector) -> "ConnectorSpec":
        return cls(
            evse.evse_id, connector.connector_id, connector.standard, connector.format, connector.power_type,
            connector.max_power_w,
        )  # fmt: skip


def connectors_parse(text: str) -> list[ConnectorSpec]:
    """`EVSE/CONNECTOR STANDARD FORMAT POWER_TYPE MAX_POWER_W`, entries separated by ';' or new lines. Raises
    ValueError listing every problem."""
    choices = {
        "standard": {v.lower(): v for v in Connector.Standard.values},
        "format": {v.lower(): v for v in Connector.Format.values},
        "power type": {v.lower(): v for v in Connector.PowerType.values},
    }
    specs, problems, seen = [], [], set()
    for entry in filter(None, (part.strip() for part in re.split(r"[;\n]", text))):
        parts = entry.split()
        ids = re.fullmatch(r"(\d+)/(\d+)", parts[0])
        if len(parts) != 5 or ids is None:
            problems.append(f"{entry!r}: write EVSE/CONNECTOR STANDARD FORMAT POWER_TYPE MAX_POWER_W.")
            continue
        evse_id, connector_id = int(ids[1]), int(ids[2])
        values = {}
        for (name, known), given in zip(choices.items(), parts[1:4], strict=True):
            values[name] = known.get(given.lower())
            if values[name] is None:
                problems.append(f"{entry!r}: {given!r} is not a {name} ({', '.join(known.values())}).")
        if not parts[4].isdigit() or not 0 < int(parts[4]) <= NUMBER_MAX:
            problems.append(f"{entry!r}: the maximum power is a whole number of watts above 0.")
        if not (0 < evse_id <= NUMBER_MAX and 0 < connector_id <= NUMBER_MAX):
            problems.append(f"{entry!r}: EVSEs and connectors are numbered from 1.")
        if (evse_id, connector_id) in seen:
            problems.append(f"{entry!r}: connector {evse_id}/{connector_id} is listed twice.")
        seen.add((evse_id, connector_id))
        if not problems:
            specs.append(
                ConnectorSpec(
                    evse_id, connector_id, values["standard"], values["format"], values["power type"], int(parts[4])
                )
            )
    if problems:
        raise ValueError(" ".join(problems))
    return specs


def connector_specs(station: Station) -> list[ConnectorSpec]:
    return [ConnectorSpec.of(evse, c) for evse in station.evses.all() for c in evse.connectors.all()]


class ConnectorsField(fields.Field):
    """The station's connectors as text, in the export and in the import preview's before/after columns. Imported
    by StationResource itself: they are rows of their own, written once the station is."""

    def get_value(self, instance: Station):
        return "; ".join(spec.text() for spec in connector_specs(instance)) if instance.pk else ""


class StationResource(OperatorResource):
    """identity (the key), location, security_profile, registration_status, connectors, and a write-only
    new_password; what the station reports (vendor, model, serial number, firmware) is exported for reading and
    ignored on import. EVSEs and connectors listed are created or updated; unlisted ones are left as they are."""

    identity = fields.Field(attribute="identity", widget=TextWidget())
    location = fields.Field(attribute="location", widget=LocationWidget())
    security_profile = fields.Field(
        attribute="security_profile",
        widget=ChoiceWidget(Station.SecurityProfile.choices, blank=Station.SecurityProfile.BASIC),
    )
    registration_status = fields.Field(
        attribute="registration_status",
        widget=ChoiceWidget(Station.Registration.choices, blank=Station.Registration.PENDING),
    )
    connectors = ConnectorsField(readonly=True)
    new_password = fields.Field(readonly=True)
    vendor = fields.Field(attribute="vendor", readonly=True, widget=TextWidget())
    model = fields.Field(attribute="model", readonly=True, widget=TextWidget())
    serial_number = fields.Field(attribute="serial_number", readonly=True, widget=TextWidget())
    firmware_version = fields.Field(attribute="firmware_version", readonly=True, widget=TextWidget())

    class Meta(OperatorResource.Meta):
        abstract = False
        model = Station
        name = "Stations"
        import_id_fields = ("identity",)
        fields = (
            "identity",
            "location",
            "security_profile",
            "registration_status",
            "connectors",
            "new_password",
            "vendor",
            "model",
            "serial_number",
            "firmware_version",
        )
        export_order = fields

    def dehydrate_new_password(self, station: Station) -> str:
        return ""  # write-only: the hash is never exported

    def import_instance(self, instance: Station, row, **kwargs):
        errors: dict = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        identity = instance.identity
        if instance.pk is None and identity and IDENTITY_FORBIDDEN.search(identity):
            errors.setdefault("identity", []).append(
                "A station identity has no '/', ':', spaces or control characters (it is the last part of the "
                "station's URL and its HTTP Basic username)."
            )
        try:
            self.key_check(identity, kwargs["row_number"], "identity", "identity")
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        instance._import_connectors = []
        if "connectors" in row:
            try:
                instance._import_connectors = connectors_parse(cell_text(row["connectors"]))
            except ValueError as problem:
                errors.setdefault("connectors", []).append(str(problem))
        instance._import_password = cell_text(row.get("new_password"))
        if instance._import_password:
            row["new_password"] = "********"  # the preview lists an invalid line's cells: never the password
        if instance._import_password and len(instance._import_password) < PASSWORD_MIN_LENGTH:
            errors.setdefault("new_password", []).append(
                f"At least {PASSWORD_MIN_LENGTH} characters (leave empty to keep the current password)."
            )
        if errors:
            raise ValidationError(errors)

    def skip_row(self, instance: Station, original, row, import_validation_errors=None):
        if getattr(instance, "_import_password", ""):
            return False
        if instance.pk is not None and not set(instance._import_connectors) <= set(connector_specs(instance)):
            return False
        return super().skip_row(instance, original, row, import_validation_errors)

    def after_save_instance(self, instance: Station, row, **kwargs):
        super().after_save_instance(instance, row, **kwargs)
        if instance._import_password:
            station_password_set(station=instance, password=instance._import_password)
        for spec in instance._import_connectors:
            evse, _ = Evse.objects.get_or_create(station=instance, evse_id=spec.evse_id)
            Connector.objects.update_or_create(
                evse=evse,
                connector_id=spec.connector_id,
                defaults={
                    "standard": spec.standard,
                    "format": spec.format,
                    "power_type": spec.power_type,
                    "max_power_w": spec.max_power_w,
                },
            )
