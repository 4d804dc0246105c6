"""OCPI 2.2.1 tariffs module. CPO, sender: every tariff of the brand at /ocpi/2.2.1/cpo/tariffs, pushed (PUT, DELETE)
to eMSP partners when it changes. eMSP, receiver: a CPO partner's tariffs at /ocpi/2.2.1/emsp/tariffs, stored as
PartnerTariff, and rebuilt as rating terms (`partner_tariff_terms`) to check a partner's CDRs.

The OCPI shape is apps.tariffs.ocpi's (`tariff_to_ocpi`, `tariff_from_ocpi`); Decimals leave as exact JSON numbers."""

import json

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django_tenants.utils import get_public_schema_name

from apps.billing.ocpi import canonical_json
from apps.roaming.exceptions import RoamingError
from apps.roaming.models import Partner, PartnerTariff, RoamingSettings
from apps.roaming.outbox import outbox_push
from apps.roaming.pagination import page_answer
from apps.roaming.receivers import has_registered_partners
from apps.roaming.selectors import cpo_roaming_settings, push_partners
from apps.roaming.services import partner_object_save
from apps.roaming.transport import (
    CLIENT_ERROR,
    INVALID_PARAMETERS,
    envelope,
    ocpi_datetime_parse,
    ocpi_module_view,
    partner_is_party,
    request_json,
)
from apps.tariffs.exceptions import TariffInvalidError
from apps.tariffs.models import Tariff
from apps.tariffs.ocpi import tariff_from_ocpi, tariff_to_ocpi


def _invalid(message: str) -> RoamingError:
    return RoamingError(message, status_code=INVALID_PARAMETERS)


def tariff_object(tariff: Tariff, *, roaming_settings: RoamingSettings) -> dict:
    """Our tariff as a JSON-ready OCPI Tariff: Decimals as exact numbers, datetimes as OCPI DateTimes."""
    ocpi = tariff_to_ocpi(tariff, country_code=roaming_settings.country_code, party_id=roaming_settings.party_id)
    return json.loads(canonical_json(ocpi))


def published_tariffs():
    """The tariffs we publish: all of the brand's (documented: a tariff is a public price list; those a driver
    without a plan pays are named in the connectors' tariff_ids), oldest first for stable pages."""
    return Tariff.objects.order_by("pk")


# --- CPO, sender interface ----------------------------------------------------------------------------------------


@ocpi_module_view(role="CPO", methods=("GET",))
def cpo_tariffs(request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings) -> HttpResponse:
    """GET our tariffs, paginated; date_from/date_to filter on the tariff's last change (`updated_at`)."""

    return page_answer(
        request,
        published_tariffs(),
        date_field="updated_at",
        render=lambda tariffs: [tariff_object(tariff, roaming_settings=roaming_settings) for tariff in tariffs],
    )


# --- CPO, pushes to eMSP partners -----------------------------------------------------------------------------------


def tariff_push(*, tariff: Tariff, partners: list[Partner] | None = None) -> int:
    """PUT the tariff to every eMSP partner with a tariffs RECEIVER (or to those of `partners` that are); how many
    pushes were recorded."""
    roaming_settings = cpo_roaming_settings()
    if roaming_settings is None:
        return 0
    partners = push_partners("tariffs", among=partners)
    body = tariff_object(tariff, roaming_settings=roaming_settings) if partners else None
    for partner in partners:
        outbox_push(
            partner=partner,
            module="tariffs",
            method="PUT",
            path=f"/{roaming_settings.country_code}/{roaming_settings.party_id}/{tariff.code}",
            body=body,
        )
    return len(partners)


def tariffs_push_to(*, partner: Partner) -> int:
    """PUT every tariff we publish to one partner (after it registered, or to resync it); how many."""
    return sum(tariff_push(tariff=tariff, partners=[partner]) for tariff in published_tariffs())


def tariff_delete_push(*, code: str) -> int:
    """DELETE a tariff we no longer have at every eMSP partner with a tariffs RECEIVER."""
    roaming_settings = cpo_roaming_settings()
    if roaming_settings is None:
        return 0
    partners = push_partners("tariffs")
    for partner in partners:
        outbox_push(
            partner=partner,
            module="tariffs",
            method="DELETE",
            path=f"/{roaming_settings.country_code}/{roaming_settings.party_id}/{code}",
        )
    return len(partners)


def _pushes_wanted() -> bool:
    # Tariffs are saved in brands' schemas only; a brand without partners pays one cached look-up.
    schema_name = connection.schema_name
    return schema_name != get_public_schema_name() and has_registered_partners(schema_name)


@receiver(post_save, sender=Tariff, dispatch_uid="roaming.tariffs.saved")
def tariff_saved_push(sender, instance: Tariff, **kwargs) -> None:
    """A tariff created or changed: PUT it to partners once the change commits (as it is then)."""
    if not _pushes_wanted():
        return
    pk = instance.pk

    def push() -> None:
        tariff = Tariff.objects.filter(pk=pk).first()
        if tariff is not None:
            tariff_push(tariff=tariff)

    transaction.on_commit(push)


@receiver(post_delete, sender=Tariff, dispatch_uid="roaming.tariffs.deleted")
def tariff_deleted_push(sender, instance: Tariff, **kwargs) -> None:
    if not _pushes_wanted():
        return
    code = instance.code
    transaction.on_commit(lambda: tariff_delete_push(code=code))


# --- eMSP, receiver interface: a CPO partner's tariffs --------------------------------------------------------------


def tariff_validate(data) -> None:
    """2001 naming the field(s) when `data` is not a valid OCPI Tariff (apps.tariffs' rules) or lacks last_updated."""
    try:
        tariff_from_ocpi(data)
    except TariffInvalidError as invalid:
        raise _invalid(str(invalid)) from invalid
    for name in ("country_code", "party_id", "last_updated"):
        if data.get(name) in (None, ""):
            raise _invalid(f"{name} is required")
    ocpi_datetime_parse(data["last_updated"], "last_updated")


def tariff_store(*, partner: Partner, data: dict) -> PartnerTariff:
    """Store one Tariff of a partner's SENDER list (pulls): 2001 naming the field when it is not valid or belongs
    to a party the partner is not."""
    tariff_validate(data)
    if not partner_is_party(partner, str(data["country_code"]), str(data["party_id"])):
        raise _invalid(f"country_code/party_id {data['country_code']}*{data['party_id']} is not the partner's party")
    return partner_object_save(PartnerTariff, partner=partner, data=data)


def partner_tariff_terms(*, partner: Partner, country_code: str, party_id: str, tariff_id: str) -> Tariff | None:
    """The partner's stored tariff as an unsaved apps.tariffs Tariff (`.terms()` is what apps.tariffs.rating.rate
    takes), to rate their session as they should have; None when we have no such tariff. TariffInvalidError if
    the stored object no longer passes apps.tariffs' rules (it did when stored)."""
    stored = PartnerTariff.objects.filter(
        partner=partner, country_code=country_code.upper(), party_id=party_id.upper(), object_id=tariff_id
    ).first()
    if stored is None:
        return None
    fields = tariff_from_ocpi(stored.data)
    return Tariff(name=f"{stored.country_code}*{stored.party_id} {tariff_id}", **fields)


def _unknown_tariff() -> HttpResponse:
    return envelope(status_code=CLIENT_ERROR, status_message="Unknown tariff", http_status=404)


@ocpi_module_view(role="EMSP", methods=("GET", "PUT", "DELETE"))
@transaction.atomic
def emsp_tariff(
    request: HttpRequest,
    partner: Partner,
    roaming_settings: RoamingSettings,
    country_code: str,
    party_id: str,
    tariff_id: str,
) -> HttpResponse:
    """A CPO partner's Tariff: GET our copy, PUT the whole object (create or replace), DELETE it."""
    if not partner_is_party(partner, country_code, party_id):
        raise _invalid(f"{country_code}*{party_id} is not one of your parties")
    stored = PartnerTariff.objects.filter(
        partner=partner, country_code=country_code.upper(), party_id=party_id.upper(), object_id=tariff_id
    ).first()
    if request.method == "GET":
        return _unknown_tariff() if stored is None else envelope(stored.data)
    if request.method == "DELETE":
        if stored is None:
            return _unknown_tariff()
        stored.delete()
        return envelope()
    data = request_json(request)
    expected = {"country_code": country_code, "party_id": party_id, "id": tariff_id}
    for name, value in expected.items():
        if name in data and str(data[name]).upper() != value.upper():
            raise _invalid(f"{name} {data[name]!r} does not match the URL ({value!r})")
    tariff_validate(data)
    partner_object_save(PartnerTariff, partner=partner, data=data)
    return envelope()


urlpatterns = [
    path("cpo/tariffs", cpo_tariffs, name="cpo-tariffs"),
    path("emsp/tariffs/<str:country_code>/<str:party_id>/<str:tariff_id>", emsp_tariff, name="emsp-tariff"),
]
