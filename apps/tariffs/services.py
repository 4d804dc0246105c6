"""Writes of tariffs and their assignments. Every write validates the whole tariff (model `clean`) and raises
django's ValidationError naming the field; nothing is saved then."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.audit import audit_record, changes_between
from apps.groups.models import StationGroup
from apps.stations.models import Connector, Location
from apps.tariffs.exceptions import TariffInUseError
from apps.tariffs.models import Tariff, TariffAssignment
from apps.tariffs.ocpi import tariff_from_ocpi
from apps.tariffs.selectors import CustomerGroup

_TARIFF_FIELDS = {field.name for field in Tariff._meta.concrete_fields} - {"id", "created_at", "updated_at"}


@transaction.atomic
def tariff_create(*, code: str, name: str, currency: str, elements: list, **fields) -> Tariff:
    """A new tariff; `fields` are the other model fields (type, min/max prices, validity, alt text, extensions)."""
    unknown = set(fields) - _TARIFF_FIELDS
    if unknown:
        raise TypeError(f"Unknown tariff fields: {', '.join(sorted(unknown))}")
    tariff = Tariff(code=code, name=name, currency=currency, elements=elements, **fields)
    tariff.full_clean()
    tariff.save()
    audit_record(action="tariff.created", target=tariff, changes=tariff_changes({}, tariff_values(tariff)))
    return tariff


@transaction.atomic
def tariff_update(*, tariff: Tariff, **fields) -> Tariff:
    unknown = set(fields) - _TARIFF_FIELDS
    if unknown:
        raise TypeError(f"Unknown tariff fields: {', '.join(sorted(unknown))}")
    tariff = Tariff.objects.select_for_update().get(pk=tariff.pk)
    before = tariff_values(tariff)
    for name, value in fields.items():
        setattr(tariff, name, value)
    tariff.full_clean()
    tariff.save()
    changes = tariff_changes(before, tariff_values(tariff))
    if changes:
        audit_record(action="tariff.changed", target=tariff, changes=changes)
    return tariff


def tariff_values(tariff: Tariff) -> dict:
    """The tariff's fields as JSON values, to compare before and after a change."""
    return {name: tariff.serializable_value(name) for name in sorted(_TARIFF_FIELDS)}


def tariff_changes(before: dict, after: dict) -> dict:
    return changes_between(before, after)


@transaction.atomic
def tariff_delete(*, tariff: Tariff) -> None:
    """Delete a tariff nothing refers to; TariffInUseError while it has assignments or priced a CDR (CDRs keep
    its code and OCPI form, but the brand must still be able to show the tariff they came from)."""
    from apps.billing.models import Cdr  # billing builds on tariffs: imported here, not at module load

    tariff = Tariff.objects.select_for_update().get(pk=tariff.pk)
    assignments = TariffAssignment.objects.filter(tariff=tariff).count()
    cdrs = Cdr.objects.filter(tariff_code=tariff.code).count()
    if assignments or cdrs:
        raise TariffInUseError(assignments=assignments, cdrs=cdrs)
    audit_record(action="tariff.deleted", target=tariff, changes=tariff_changes(tariff_values(tariff), {}))
    tariff.delete()


@transaction.atomic
def tariff_import_ocpi(*, data: dict, name: str = "") -> Tariff:
    """Create or replace the tariff whose code is the OCPI object's id. Raises TariffInvalidError."""
    fields = tariff_from_ocpi(data)
    code = fields.pop("code")
    existing = Tariff.objects.filter(code=code).first()
    if existing is not None:
        return tariff_update(tariff=existing, **fields, **({"name": name} if name else {}))
    return tariff_create(code=code, name=name or code, **fields)


@transaction.atomic
def tariff_assignment_create(
    *,
    tariff: Tariff,
    location: Location | None = None,
    station_group: StationGroup | None = None,
    connector: Connector | None = None,
    customer_group: CustomerGroup | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    priority: int = 0,
) -> TariffAssignment:
    """Apply `tariff` at exactly one of a location, a station group or a connector; for all customers, or the
    given customer group only. Refusals name the field: the scopes given (or all three when none is)."""
    scopes = {"location": location, "station_group": station_group, "connector": connector}
    given = [name for name, value in scopes.items() if value is not None]
    if len(given) != 1:
        message = "Give only one of" if given else "Give one of"
        raise ValidationError({name: [f"{message} location, station_group or connector."] for name in given or scopes})
    assignment = TariffAssignment(
        tariff=tariff,
        location=location,
        station_group=station_group,
        connector=connector,
        customer_group_type=customer_group.type if customer_group else TariffAssignment.CustomerGroupType.ALL,
        customer_group_ref=customer_group.ref if customer_group else "",
        valid_from=valid_from,
        valid_until=valid_until,
        priority=priority,
    )
    assignment.full_clean()
    assignment.save()
    audit_record(action="tariff_assignment.created", target=assignment, changes={"tariff": [None, tariff.code]})
    return assignment


@transaction.atomic
def tariff_assignment_delete(*, assignment: TariffAssignment) -> None:
    """The tariff no longer applies there. Sessions already rated keep their CDRs (they carry the tariff as applied)."""
    audit_record(action="tariff_assignment.deleted", target=assignment)
    assignment.delete()
