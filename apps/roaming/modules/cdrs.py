"""OCPI 2.2.1 cdrs module.

CPO side: every CDR billing issues for a roaming session, credit CDRs too, is POSTed to the session's eMSP partner
through the outbox, as issued (the stored canonical JSON); the Location they answer is kept on the outbox message.
`cpo/cdrs` lists the calling partner's CDRs (paginated on when they were issued).

eMSP side: a CPO partner POSTs its CDRs of our drivers to `emsp/cdrs` (or we pull them: `cdr_store`); each is kept
as sent in PartnerCdr and answered HTTP 201 with the `Location` of our copy (`emsp/cdrs/<pk>`). At store time we
rate the session ourselves with the partner's tariff: `expected_total_excl_vat`, and `disputed` when their total
differs by more than a cent. No tariff known: no expectation, not disputed (docs/roaming/sessions-cdrs-settlement.md).
"""

import json
import logging
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path

from apps.billing.models import Cdr
from apps.billing.ocpi import REQUIRED_FIELDS
from apps.roaming.exceptions import RoamingError
from apps.roaming.models import OutboxMessage, Partner, PartnerCdr, PartnerLocation, RoamingSettings
from apps.roaming.modules.tariffs import partner_tariff_terms
from apps.roaming.outbox import outbox_push
from apps.roaming.pagination import page_answer
from apps.roaming.transport import (
    CLIENT_ERROR,
    INVALID_PARAMETERS,
    envelope,
    ocpi_datetime_parse,
    ocpi_decimal,
    ocpi_module_view,
    partner_is_party,
    request_json,
)
from apps.tariffs.exceptions import TariffInvalidError
from apps.tariffs.models import Tariff
from apps.tariffs.ocpi import tariff_from_ocpi
from apps.tariffs.rating import MeterReading, Rating, Timeline, rate

logger = logging.getLogger(__name__)

MODULE = "cdrs"
# Their total and our rating may differ by currency rounding: more than this is a dispute.
DISPUTE_TOLERANCE = Decimal("0.01")
AUTH_METHODS = frozenset({"AUTH_REQUEST", "COMMAND", "WHITELIST"})


# --- CPO: pushing our CDRs --------------------------------------------------------------------------------------------


def cdr_body(cdr: Cdr) -> dict:
    """The CDR as issued: its canonical JSON read back with plain JSON numbers (their text is kept when dumped)."""
    return json.loads(cdr.ocpi_json)


def cdr_created_push(*, station_id: int | None, at: str, data: dict) -> OutboxMessage | None:
    """Live event cdr.created: POST the CDR (or credit CDR) of a roaming session to its eMSP partner."""
    cdr = Cdr.objects.filter(pk=data.get("id")).select_related("session__roaming__partner").first()
    roaming = getattr(cdr.session, "roaming", None) if cdr else None
    if roaming is None:
        return None
    partner = roaming.partner
    if partner.status != Partner.Status.REGISTERED or not partner.endpoint_url(MODULE, "RECEIVER"):
        logger.warning("CDR %s of a roaming session not pushed: %s takes no CDRs", cdr.cdr_id, partner)
        return None
    return outbox_push(partner=partner, module=MODULE, method="POST", body=cdr_body(cdr), to=roaming.emsp_party)


def partner_cdrs(partner: Partner):
    """The CDRs we issued for the partner's drivers' sessions, credit CDRs included."""
    return Cdr.objects.filter(session__roaming__partner=partner)


@ocpi_module_view(role="CPO", methods=("GET",))
def cdrs_get(request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings) -> HttpResponse:
    """The calling partner's CDRs, paginated on when they were issued (CDRs never change afterwards)."""
    return page_answer(
        request,
        partner_cdrs(partner).order_by("pk").only("ocpi_json"),
        date_field="issued_at",
        render=lambda cdrs: [cdr_body(cdr) for cdr in cdrs],
    )


# --- eMSP: receiving the partner's CDRs ---------------------------------------------------------------------------


def _price(data: dict, name: str, *, required: bool) -> tuple[Decimal | None, Decimal | None]:
    value = data.get(name)
    if value is None and not required:
        return None, None
    if not isinstance(value, dict) or "excl_vat" not in value:
        raise RoamingError(f"{name} needs excl_vat", INVALID_PARAMETERS)
    incl = value.get("incl_vat")
    return ocpi_decimal(value["excl_vat"], f"{name}.excl_vat"), None if incl is None else ocpi_decimal(
        incl, f"{name}.incl_vat"
    )


def cdr_columns(data: dict) -> dict:
    """The PartnerCdr columns of a CDR, or RoamingError 2001 naming the first field that breaks OCPI 2.2.1 §10.4.1."""
    for name in REQUIRED_FIELDS:
        if data.get(name) in (None, ""):
            raise RoamingError(f"{name} is required", INVALID_PARAMETERS)
    if not isinstance(data["charging_periods"], list) or not data["charging_periods"]:
        raise RoamingError("charging_periods needs at least one period", INVALID_PARAMETERS)
    token = data["cdr_token"]
    if not isinstance(token, dict) or not token.get("uid") or not token.get("type"):
        raise RoamingError("cdr_token needs uid and type", INVALID_PARAMETERS)
    if not isinstance(data["cdr_location"], dict) or not data["cdr_location"].get("id"):
        raise RoamingError("cdr_location needs id", INVALID_PARAMETERS)
    if data["auth_method"] not in AUTH_METHODS:
        raise RoamingError(f"auth_method must be one of {', '.join(sorted(AUTH_METHODS))}", INVALID_PARAMETERS)
    if not isinstance(data["currency"], str) or len(data["currency"]) != 3:
        raise RoamingError("currency must be an ISO 4217 code", INVALID_PARAMETERS)
    if not isinstance(data["id"], str) or not 1 <= len(data["id"]) <= 39:
        raise RoamingError("id must be a string of 1 to 39 characters", INVALID_PARAMETERS)
    excl, incl = _price(data, "total_cost", required=True)
    columns = {
        "session_id": str(data.get("session_id") or "")[:36],
        "currency": data["currency"].upper(),
        "total_cost_excl_vat": excl,
        "total_cost_incl_vat": incl,
        "total_energy": ocpi_decimal(data["total_energy"], "total_energy"),
        "start_date_time": ocpi_datetime_parse(data["start_date_time"], "start_date_time"),
        "end_date_time": ocpi_datetime_parse(data["end_date_time"], "end_date_time"),
        "last_updated": ocpi_datetime_parse(data["last_updated"], "last_updated"),
        "credit": data.get("credit") is True,
        "credit_reference_id": str(data.get("credit_reference_id") or "")[:39],
        "token_uid": str(token["uid"])[:36],
    }
    ocpi_decimal(data["total_time"], "total_time")
    if columns["credit"] and not columns["credit_reference_id"]:
        raise RoamingError("credit_reference_id is required for a credit CDR", INVALID_PARAMETERS)
    return columns


def _tariff_unsaved(data: dict) -> Tariff | None:
    """An unsaved Tariff of an OCPI Tariff object, for rating; None when it is not a valid tariff."""
    try:
        return Tariff(**tariff_from_ocpi(data))
    except TariffInvalidError:
        return None


def _cdr_tariff(partner: Partner, data: dict) -> Tariff | None:
    """The tariff the CDR was priced with: the one its charging periods name, from the CDR's own `tariffs` or the
    partner's tariffs we hold; else the CDR's only tariff."""
    tariff_ids = [p.get("tariff_id") for p in data["charging_periods"] if isinstance(p, dict) and p.get("tariff_id")]
    inline = [t for t in data.get("tariffs") or [] if isinstance(t, dict)]
    for tariff_id in dict.fromkeys(tariff_ids):
        found = next((t for t in inline if t.get("id") == tariff_id), None)
        if found is not None:
            return _tariff_unsaved(found)
        tariff = partner_tariff_terms(
            partner=partner, country_code=data["country_code"], party_id=data["party_id"], tariff_id=tariff_id
        )
        if tariff is not None:
            return tariff
    return _tariff_unsaved(inline[0]) if len(inline) == 1 else None


def _volume(period: dict, dimension: str) -> Decimal | None:
    for item in period.get("dimensions") or []:
        if isinstance(item, dict) and item.get("type") == dimension:
            try:
                return Decimal(str(item.get("volume")))
            except InvalidOperation:
                return None
    return None


def cdr_timeline(data: dict, columns: dict) -> Timeline:
    """The session as the CDR tells it: a reading at each charging period's start (the energy so far; charging
    unless the period is parking), and the total energy at the end."""
    start, end = columns["start_date_time"], columns["end_date_time"]
    readings, energy_wh = [], Decimal(0)
    for period in data["charging_periods"]:
        if not isinstance(period, dict):
            continue
        try:
            at = ocpi_datetime_parse(period.get("start_date_time"), "charging_periods.start_date_time")
        except RoamingError:
            continue
        parking = _volume(period, "PARKING_TIME") is not None and _volume(period, "TIME") is None
        readings.append(MeterReading(at=at, energy_wh=energy_wh, charging=not parking))
        energy_wh += (_volume(period, "ENERGY") or Decimal(0)) * 1000
    if not readings:
        readings.append(MeterReading(at=start, energy_wh=Decimal(0)))
    readings.append(MeterReading(at=end, energy_wh=columns["total_energy"] * 1000))
    return Timeline(start=start, end=end, readings=tuple(readings))


def cdr_expected(*, partner: Partner, data: dict, columns: dict) -> Rating | None:
    """Our rating of the partner's session under the partner's tariff; None when we know no tariff for it (or its
    currency is not the CDR's). A credit CDR cancels an earlier one: not rated."""
    if columns["credit"]:
        return None
    tariff = _cdr_tariff(partner, data)
    if tariff is None or tariff.currency.upper() != columns["currency"]:
        return None
    location = PartnerLocation.objects.filter(
        partner=partner,
        country_code=str(data["country_code"]).upper(),
        party_id=str(data["party_id"]).upper(),
        object_id=str(data["cdr_location"]["id"]),
    ).first()
    time_zone = (location.data.get("time_zone") if location else None) or "UTC"
    return rate(tariff.terms(), cdr_timeline(data, columns), time_zone=time_zone)


def cdr_store(*, partner: Partner, data: dict) -> PartnerCdr:
    """Store a CPO partner's CDR with our own rating of it; RoamingError 2001 naming the field when it is not
    valid, not the partner's own, or another CDR was stored under its id. The identical CDR again is accepted
    (a retry after a lost answer): the stored one is returned."""
    if not isinstance(data, dict):
        raise RoamingError("A CDR is an object", INVALID_PARAMETERS)
    columns = cdr_columns(data)
    country_code, party_id = str(data["country_code"]).upper(), str(data["party_id"]).upper()
    if not partner_is_party(partner, country_code, party_id):
        raise RoamingError("country_code/party_id is not one of the partner's roles", INVALID_PARAMETERS)
    stored = PartnerCdr.objects.filter(
        partner=partner, country_code=country_code, party_id=party_id, object_id=data["id"]
    ).first()
    if stored is not None:
        if stored.data == data:
            return stored
        raise RoamingError("id: a different CDR with this id was stored; CDRs are never changed", INVALID_PARAMETERS)
    expected = cdr_expected(partner=partner, data=data, columns=columns)
    expected_total = expected.total_excl_vat.amount if expected else None
    disputed = expected_total is not None and abs(expected_total - columns["total_cost_excl_vat"]) > DISPUTE_TOLERANCE
    cdr = PartnerCdr.objects.create(
        partner=partner,
        country_code=country_code,
        party_id=party_id,
        object_id=data["id"],
        data=data,
        expected_total_excl_vat=expected_total,
        disputed=disputed,
        **columns,
    )
    # Our driver's receipt, once the CDR is committed (apps.roaming.receipts).
    from apps.roaming.tasks import partner_cdr_bill_task

    schema_name, cdr_id = connection.schema_name, cdr.pk
    transaction.on_commit(lambda: partner_cdr_bill_task.delay(schema_name, cdr_id))
    return cdr


def cdr_url(roaming_settings: RoamingSettings, cdr: PartnerCdr) -> str:
    return roaming_settings.public_url.rstrip("/") + f"/ocpi/2.2.1/emsp/cdrs/{cdr.pk}"


@ocpi_module_view(role="EMSP", methods=("POST",))
def cdrs_post(request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings) -> HttpResponse:
    """A CPO partner's CDR: stored, answered HTTP 201 with the Location of our copy."""
    cdr = cdr_store(partner=partner, data=request_json(request))
    response = envelope(http_status=201)
    response["Location"] = cdr_url(roaming_settings, cdr)
    return response


@ocpi_module_view(role="EMSP", methods=("GET",))
def cdr_get(request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings, cdr_id: str) -> HttpResponse:
    """One CDR the calling partner posted, at the Location we answered."""
    cdr = PartnerCdr.objects.filter(partner=partner, pk=int(cdr_id)).first() if cdr_id.isdigit() else None
    if cdr is None:
        return envelope(status_code=CLIENT_ERROR, status_message="Unknown CDR", http_status=404)
    return envelope(cdr.data)


urlpatterns = [
    path("cpo/cdrs", cdrs_get, name="cpo-cdrs"),
    path("emsp/cdrs", cdrs_post, name="emsp-cdrs"),
    path("emsp/cdrs/<str:cdr_id>", cdr_get, name="emsp-cdr"),
]
