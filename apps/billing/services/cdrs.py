"""Issuing CDRs: a session rated under its tariff (apps.tariffs' selectors and engine) becomes an OCPI 2.2.1 CDR,
stored as canonical JSON with its SHA-256 and never changed again. Corrections are credit CDRs, and a re-issue.

One CDR per session and revision: the session's row is locked while its CDR is issued, and a unique constraint
backs that, so the pipeline may run twice (or twice at once) and still issue one.
"""

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.billing.exceptions import CdrError
from apps.billing.models import Cdr
from apps.billing.ocpi import COUNTRY_ALPHA3, TOKEN_TYPES, canonical_json, content_hash, negated, price, signed_data
from apps.billing.selectors.plans import session_customer_group
from apps.sessions.models import ChargingSession, MeterSample
from apps.stations.live import live_publish
from apps.stations.models import Connector
from apps.tariffs.models import Tariff
from apps.tariffs.ocpi import tariff_to_ocpi
from apps.tariffs.rating import Rating
from apps.tariffs.selectors import session_connector, session_cost_running, tariff_for_session
from apps.whitelabel.models import Tenant

logger = logging.getLogger(__name__)

# Sessions that are over and can be billed. A session stopped without a known start waits for its Started event.
BILLABLE_STATUSES = frozenset({ChargingSession.Status.COMPLETED, ChargingSession.Status.INTERRUPTED})
NO_TARIFF = "No tariff applies to this session: the CDR is issued at zero cost for review."


def party() -> tuple[str, str]:
    """Who issues the brand's CDRs in OCPI: its roaming identity when it has one (partners know it by that), else
    the platform's settings."""
    from apps.roaming.models import RoamingSettings  # roaming builds on billing: imported when used

    roaming_settings = RoamingSettings.objects.only("country_code", "party_id").first()
    if roaming_settings is not None:
        return roaming_settings.country_code, roaming_settings.party_id
    return settings.OCPI_COUNTRY_CODE, settings.OCPI_PARTY_ID


def tenant_current() -> Tenant:
    return Tenant.objects.get(schema_name=connection.schema_name)


@dataclass
class SessionRating:
    tariff: Tariff | None
    rating: Rating | None
    currency: str
    review_reasons: list[str]


def session_rate(session: ChargingSession) -> SessionRating:
    """The session under the tariff valid when it started for its payer (a subscriber's plan tariff, if one is
    assigned there: docs/plans.md); no tariff: nothing rated, flagged."""
    customer_group = session_customer_group(session)
    tariff = tariff_for_session(session, customer_group=customer_group)
    if tariff is None:
        return SessionRating(None, None, tenant_current().currency, [NO_TARIFF])
    rating = session_cost_running(session, customer_group=customer_group)
    return SessionRating(tariff, rating, rating.currency, list(rating.review_reasons))


def _cdr_id(session: ChargingSession, revision: int, *, credit: bool = False) -> str:
    slug = connection.schema_name.replace("_", "-")[:16]
    return f"{slug}-{session.pk:08d}-{revision}{'-CR' if credit else ''}"


def _cdr_token(session: ChargingSession, country_code: str, party_id: str) -> dict:
    """The driver's token: an eMSP partner's token as the partner knows it (the roaming session's CdrToken, whose
    country_code/party_id are the eMSP's), else our own token under our party."""
    roaming = getattr(session, "roaming", None)  # apps.roaming's RoamingSession, when the session is roaming
    if roaming is not None:
        return dict(roaming.cdr_token)
    token_type = session.id_token.type if session.id_token else session.id_token_type
    uid = session.id_token_uid or (session.id_token.uid if session.id_token else "") or "UNKNOWN"
    return {
        "country_code": country_code,
        "party_id": party_id,
        "uid": uid,
        "type": TOKEN_TYPES.get(token_type, "OTHER"),
        "contract_id": uid,
    }


def _cdr_location(session: ChargingSession, country_code: str, party_id: str, review: list[str]) -> dict:
    station = session.station
    location = station.location
    connector: Connector | None = session_connector(session)
    if location is None:
        review.append("The station has no location: the CDR's location is incomplete.")
    country = COUNTRY_ALPHA3.get((location.country if location else "").upper(), "")
    if location is not None and not country:
        review.append(f"Unknown country {location.country!r} of the location.")
    evse = session.evse_id or (connector.evse.evse_id if connector else 0)
    identity = "".join(ch for ch in station.identity.upper() if ch.isalnum())
    out = {
        "id": str(location.pk) if location else "",
        "address": location.address if location else "",
        "city": location.city if location else "",
        "country": country,
        "coordinates": {
            "latitude": str(location.latitude) if location and location.latitude is not None else "0",
            "longitude": str(location.longitude) if location and location.longitude is not None else "0",
        },
        # The EVSE's uid as the roaming locations module publishes it (docs/roaming.md).
        "evse_uid": f"{station.identity}*{evse}",
        "evse_id": f"{country_code}*{party_id}*E{identity}*{evse}",
        "connector_id": str(session.connector_id or (connector.connector_id if connector else 1)),
        "connector_standard": connector.standard if connector else Connector.Standard.TYPE_2,
        "connector_format": connector.format if connector else Connector.Format.SOCKET,
        "connector_power_type": connector.power_type if connector else Connector.PowerType.AC_3_PHASE,
    }
    if location is not None:
        out["name"] = location.name
        if location.postal_code:
            out["postal_code"] = location.postal_code
    return out


def _unrated_periods(session: ChargingSession, start, end) -> list[dict]:
    hours = Decimal((end - start).total_seconds()) / 3600
    dimensions = [{"type": "TIME", "volume": hours.quantize(Decimal("0.000001"))}]
    if session.energy_wh:
        dimensions.insert(0, {"type": "ENERGY", "volume": (session.energy_wh / 1000).quantize(Decimal("0.0001"))})
    return [{"start_date_time": start, "dimensions": dimensions}]


def cdr_document(session: ChargingSession, rated: SessionRating, *, cdr_id: str) -> dict:
    """The OCPI 2.2.1 CDR of a rated session (Decimals and datetimes: canonical_json renders them)."""
    country_code, party_id = party()
    review = list(rated.review_reasons)
    start = session.started_at or session.created_at
    end = max(session.stopped_at or start, start)
    auth_method = "COMMAND" if session.remote_start_id is not None else "AUTH_REQUEST"
    document = {
        "country_code": country_code,
        "party_id": party_id,
        "id": cdr_id,
        "start_date_time": start,
        "end_date_time": end,
        "session_id": str(session.pk),
        "cdr_token": _cdr_token(session, country_code, party_id),
        "auth_method": auth_method,
        "cdr_location": _cdr_location(session, country_code, party_id, review),
        "currency": rated.currency,
        "last_updated": timezone.now(),
    }
    if session.station.meter_serial:
        document["meter_id"] = session.station.meter_serial
    rating = rated.rating
    if rating is None:
        zero = Decimal(0)
        document.update(
            charging_periods=_unrated_periods(session, start, end),
            total_cost=price(zero, zero),
            total_energy=(session.energy_wh / 1000).quantize(Decimal("0.0001")),
            total_time=(Decimal((end - start).total_seconds()) / 3600).quantize(Decimal("0.000001")),
        )
    else:
        document["tariffs"] = [tariff_to_ocpi(rated.tariff, country_code=country_code, party_id=party_id)]
        document["charging_periods"] = rating.charging_periods or _unrated_periods(session, start, end)
        costs = rating.costs
        document["total_cost"] = price(rating.total_excl_vat.amount, rating.total_incl_vat.amount)
        if "FLAT" in costs:
            document["total_fixed_cost"] = price(costs["FLAT"].excl_vat.amount, costs["FLAT"].incl_vat.amount)
        document["total_energy"] = rating.total_energy_kwh
        if "ENERGY" in costs:
            document["total_energy_cost"] = price(costs["ENERGY"].excl_vat.amount, costs["ENERGY"].incl_vat.amount)
        document["total_time"] = rating.total_time_hours + rating.total_parking_time_hours
        if "TIME" in costs:
            document["total_time_cost"] = price(costs["TIME"].excl_vat.amount, costs["TIME"].incl_vat.amount)
        document["total_parking_time"] = rating.total_parking_time_hours
        if "PARKING_TIME" in costs:
            parking = costs["PARKING_TIME"]
            document["total_parking_cost"] = price(parking.excl_vat.amount, parking.incl_vat.amount)
        if "RESERVATION" in costs:
            reserved = costs["RESERVATION"]
            document["total_reservation_cost"] = price(reserved.excl_vat.amount, reserved.incl_vat.amount)
    signed_rows = (
        MeterSample.objects.filter(session=session)
        .exclude(signed_data="")
        .order_by("sampled_at", "id")
        .values_list("context", "value", "unit", "signed_data")
    )
    signed = signed_data([(c, f"{v.normalize():f} {u}".strip(), data) for c, v, u, data in signed_rows])
    if signed:
        document["signed_data"] = signed
    if review:
        document["remark"] = " ".join(review)[:255]
    rated.review_reasons = review
    return document


def _cdr_published(cdr: Cdr, station_id: int | None) -> Cdr:
    """Tell live views and webhooks (after commit) that a CDR was issued, a credit CDR too."""
    live_publish(
        "cdr.created",
        station_id=station_id,
        data={
            "id": cdr.pk,
            "cdr_id": cdr.cdr_id,
            "session_id": cdr.session_id,
            "revision": cdr.revision,
            "credit": cdr.credit,
            "credit_reference_id": cdr.credit_reference.cdr_id if cdr.credit_reference_id else None,
            "currency": cdr.currency,
            "start_date_time": cdr.start_date_time,
            "end_date_time": cdr.end_date_time,
            "total_energy_kwh": cdr.total_energy_kwh,
            "total_excl_vat": cdr.total_excl_vat,
            "total_incl_vat": cdr.total_incl_vat,
            "needs_review": cdr.needs_review,
        },
    )
    return cdr


def _cdr_store(*, session: ChargingSession, revision: int, document: dict, review: list[str], **fields) -> Cdr:
    text = canonical_json(document)
    cdr = Cdr.objects.create(
        session=session,
        revision=revision,
        cdr_id=document["id"],
        currency=document["currency"],
        start_date_time=document["start_date_time"],
        end_date_time=document["end_date_time"],
        token_uid=document["cdr_token"]["uid"],
        token_group_uid=(session.id_token.group.uid if session.id_token and session.id_token.group else ""),
        total_energy_kwh=document["total_energy"],
        total_excl_vat=document["total_cost"]["excl_vat"],
        total_incl_vat=document["total_cost"].get("incl_vat", document["total_cost"]["excl_vat"]),
        tariff_code=(document.get("tariffs") or [{}])[0].get("id", ""),
        needs_review=bool(review),
        review_reasons=review,
        session_stopped_at=session.stopped_at,
        session_energy_wh=session.energy_wh,
        ocpi_json=text,
        content_hash=content_hash(text),
        **fields,
    )
    return _cdr_published(cdr, session.station_id)


def _session_locked(session_id: int) -> ChargingSession:
    return (
        ChargingSession.objects.select_for_update(of=("self",))
        .select_related("station__location", "id_token__group")
        .get(pk=session_id)
    )


def cdr_current(session: ChargingSession) -> Cdr | None:
    """The session's CDR in force: the newest revision not credited."""
    return Cdr.objects.filter(session=session, credit=False, credited_by__isnull=True).order_by("-revision").first()


@transaction.atomic
def cdr_issue(*, session: ChargingSession) -> Cdr:
    """Rate an ended session and issue its CDR; the session's CDR in force if it has one (idempotent)."""
    session = _session_locked(session.pk)
    if session.status not in BILLABLE_STATUSES:
        raise CdrError(f"Session {session.pk} is {session.status}: only an ended session is billed.")
    existing = Cdr.objects.filter(session=session, credit=False).order_by("-revision").first()
    if existing is not None:
        return cdr_current(session) or existing
    return _cdr_rate_and_store(session, revision=0)


def _cdr_rate_and_store(session: ChargingSession, *, revision: int, reason: str = "") -> Cdr:
    rated = session_rate(session)
    document = cdr_document(session, rated, cdr_id=_cdr_id(session, revision))
    cdr = _cdr_store(session=session, revision=revision, document=document, review=rated.review_reasons, reason=reason)
    if cdr.needs_review:
        logger.info("CDR %s needs review: %s", cdr.cdr_id, "; ".join(cdr.review_reasons))
    return cdr


@transaction.atomic
def cdr_credit(*, cdr: Cdr, reason: str) -> Cdr:
    """Cancel an issued CDR with a credit CDR: the same document with negated amounts, `credit: true` and
    `credit_reference_id` the original's id. A CDR is credited once; a credit CDR is never credited."""
    if not reason.strip():
        raise CdrError("Say why the CDR is credited.")
    session = _session_locked(cdr.session_id)
    original = Cdr.objects.select_for_update().get(pk=cdr.pk)
    if original.credit:
        raise CdrError(f"{original} is a credit CDR: it cannot be credited.")
    if Cdr.objects.filter(credit_reference=original).exists():
        raise CdrError(f"{original} was credited already.")
    document = negated(original.ocpi)
    document.update(
        id=_cdr_id(session, original.revision, credit=True),
        credit=True,
        credit_reference_id=original.cdr_id,
        last_updated=timezone.now(),
        remark=reason[:255],
    )
    document["start_date_time"] = original.start_date_time
    document["end_date_time"] = original.end_date_time
    text = canonical_json(document)
    credit = Cdr.objects.create(
        session=session,
        revision=original.revision,
        cdr_id=document["id"],
        credit=True,
        credit_reference=original,
        currency=original.currency,
        start_date_time=original.start_date_time,
        end_date_time=original.end_date_time,
        token_uid=original.token_uid,
        token_group_uid=original.token_group_uid,
        total_energy_kwh=original.total_energy_kwh,
        total_excl_vat=-original.total_excl_vat,
        total_incl_vat=-original.total_incl_vat,
        tariff_code=original.tariff_code,
        reason=reason[:255],
        session_stopped_at=original.session_stopped_at,
        session_energy_wh=original.session_energy_wh,
        ocpi_json=text,
        content_hash=content_hash(text),
    )
    return _cdr_published(credit, session.station_id)


@transaction.atomic
def cdr_reissue(*, cdr: Cdr, reason: str) -> tuple[Cdr, Cdr]:
    """Credit `cdr` and issue the session's CDR again from what is stored now (the next revision): e.g. after a
    late stop completed an interrupted session, or a tariff was fixed. Returns (credit CDR, new CDR)."""
    credit = cdr_credit(cdr=cdr, reason=reason)
    session = _session_locked(cdr.session_id)
    return credit, _cdr_rate_and_store(session, revision=cdr.revision + 1, reason=reason)


def cdr_outdated(cdr: Cdr, session: ChargingSession) -> bool:
    """The session ended again with other figures since the CDR was issued (a late stop after an interruption)."""
    return cdr.session_stopped_at != session.stopped_at or cdr.session_energy_wh != session.energy_wh
