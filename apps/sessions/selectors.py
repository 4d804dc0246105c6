"""Reads of ID tokens (the brand's tokens, and what stations keep locally: the local authorization list), of
charging sessions and of their meter series, aggregated in SQL."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate

from apps.sessions.authorizers import external_local_list_entries
from apps.sessions.metering import ACTIVE_POWER, DELIVERY_LOCATIONS, ENERGY_REGISTER
from apps.sessions.models import ChargingSession, GuestAccess, IdToken, MeterSample, guest_secret_hash


def id_token_list(
    *, uid: str | None = None, status: str | None = None, type: str | None = None, group_id: int | None = None
) -> QuerySet[IdToken]:
    """The brand's tokens; `uid` matches case-insensitively, as stations' uids are."""
    tokens = IdToken.objects.select_related("group")
    if uid is not None:
        tokens = tokens.filter(uid__iexact=uid)
    if status is not None:
        tokens = tokens.filter(status=status)
    if type is not None:
        tokens = tokens.filter(type=type)
    if group_id is not None:
        tokens = tokens.filter(group_id=group_id)
    return tokens


def driver_card_list(*, owner) -> QuerySet[IdToken]:
    """The RFID cards a driver added or was given (not their app tokens), newest first."""
    return IdToken.objects.filter(owner=owner, type=IdToken.Type.ISO14443).order_by("-created_at", "-pk")


@dataclass(frozen=True)
class LocalListEntry:
    """An ID token as a station's local list holds it; `status` None means: remove it (differential update)."""

    uid: str
    type: str = IdToken.Type.ISO14443
    status: str | None = IdToken.Status.ACCEPTED
    expires_at: datetime | None = None
    group_uid: str = ""


def local_list_entries(*, uids: list[str] | None = None) -> list[LocalListEntry]:
    """The brand's tokens for a full list (every token, uids None), or the named ones for a differential update:
    a named uid the brand does not have any more is an entry without status, which removes it from the station.
    Tokens of the registered local list sources (apps.sessions.authorizers) follow the brand's own."""
    tokens = IdToken.objects.select_related("group").order_by("uid")
    if uids is not None:
        tokens = tokens.filter(uid__in=uids)
    entries = [
        LocalListEntry(
            uid=token.uid,
            type=token.type,
            status=token.status,
            expires_at=token.expires_at,
            group_uid=token.group.uid if token.group else "",
        )
        for token in tokens
    ]
    # Other platforms' tokens a station may accept offline (roaming whitelists); a local token of the same uid wins.
    local = {entry.uid.upper() for entry in entries}
    entries += [entry for entry in external_local_list_entries(uids=uids) if entry.uid.upper() not in local]
    if uids is not None:
        known = {entry.uid for entry in entries}
        entries += [LocalListEntry(uid=uid, status=None) for uid in uids if uid not in known]
    return entries


# --- Charging sessions and their meter series -----------------------------------------------------------------------


def session_list(
    *,
    status: str | None = None,
    station_id: int | None = None,
    evse_id: int | None = None,
    id_token_uid: str | None = None,
    started_after: datetime | None = None,
    started_before: datetime | None = None,
    ended_after: datetime | None = None,
) -> QuerySet[ChargingSession]:
    """The brand's sessions, live and ended, with their station; the filters given narrow them (None: any)."""
    sessions = ChargingSession.objects.select_related("station")
    if status is not None:
        sessions = sessions.filter(status=status)
    if station_id is not None:
        sessions = sessions.filter(station_id=station_id)
    if evse_id is not None:
        sessions = sessions.filter(evse_id=evse_id)
    if id_token_uid is not None:
        sessions = sessions.filter(id_token_uid__iexact=id_token_uid)  # uids are case-insensitive
    if started_after is not None:
        sessions = sessions.filter(started_at__gte=started_after)
    if started_before is not None:
        sessions = sessions.filter(started_at__lt=started_before)
    if ended_after is not None:
        sessions = sessions.filter(stopped_at__gte=ended_after)
    return sessions


def session_get(*, session_id: int) -> ChargingSession | None:
    return session_list().filter(pk=session_id).first()


def id_token_list_of_owner(*, user) -> QuerySet[IdToken]:
    """A driver's own tokens: their cards and their app token."""
    return IdToken.objects.filter(owner=user)


def session_list_of_owner(*, user) -> QuerySet[ChargingSession]:
    """A driver's own sessions: those of the tokens they own (their cards, their app token), started ones only."""
    return session_list().filter(id_token__owner=user, started_at__isnull=False)


def session_list_of_id_token(*, id_token: IdToken) -> QuerySet[ChargingSession]:
    return session_list().filter(id_token=id_token, started_at__isnull=False)


def guest_access_get(*, secret: str) -> GuestAccess | None:
    """The guest access of this secret (compared by its SHA-256), with its token."""
    return GuestAccess.objects.select_related("id_token").filter(secret_hash=guest_secret_hash(secret)).first()


def energy_by_day(*, sessions: QuerySet[ChargingSession]) -> list[tuple[date, int, Decimal]]:
    """(day the session started, sessions, energy in Wh) of `sessions`, summed in SQL."""
    rows = (
        sessions.order_by()
        .filter(started_at__isnull=False)
        .annotate(day=TruncDate("started_at"))
        .values_list("day")
        .annotate(count=Count("pk"), energy=Sum("energy_wh"))
        .order_by("day")
    )
    return list(rows)


def session_totals_by_station_day(*, sessions: QuerySet[ChargingSession]) -> list[tuple[str, date, int, Decimal]]:
    """(station identity, day the session started, sessions, energy in Wh) of `sessions`, summed in SQL."""
    rows = (
        sessions.order_by()
        .filter(started_at__isnull=False)
        .annotate(day=TruncDate("started_at"))
        .values_list("station__identity", "day")
        .annotate(count=Count("pk"), energy=Sum("energy_wh"))
        .order_by("station__identity", "day")
    )
    return list(rows)


@dataclass(frozen=True)
class Measurand:
    """How a measurand's samples become one reading per instant, and which stored units are in its base unit."""

    base_unit: str
    units: frozenset[str]  # lower case; "" is OCPP's default unit
    phases_add_up: bool = True  # per-phase values: summed (energy, power, current) or averaged (voltage…)
    delivery_only: bool = True  # only readings at the outlet/inlet/cable, not the grid meter's or the EV's


_ENERGY = frozenset({"", "wh", "kwh", "mwh"})
_REACTIVE_ENERGY = frozenset({"", "varh", "kvarh"})
_POWER = frozenset({"", "w", "kw", "mw"})
_REACTIVE_POWER = frozenset({"", "var", "kvar"})
MEASURANDS = {
    ENERGY_REGISTER: Measurand("Wh", _ENERGY),
    "Energy.Active.Export.Register": Measurand("Wh", _ENERGY),
    "Energy.Reactive.Import.Register": Measurand("varh", _REACTIVE_ENERGY),
    "Energy.Reactive.Export.Register": Measurand("varh", _REACTIVE_ENERGY),
    ACTIVE_POWER: Measurand("W", _POWER),
    "Power.Active.Export": Measurand("W", _POWER),
    "Power.Reactive.Import": Measurand("var", _REACTIVE_POWER),
    "Power.Reactive.Export": Measurand("var", _REACTIVE_POWER),
    "Power.Offered": Measurand("W", _POWER, phases_add_up=False),
    "Current.Import": Measurand("A", frozenset({"", "a"})),
    "Current.Export": Measurand("A", frozenset({"", "a"})),
    "Current.Offered": Measurand("A", frozenset({"", "a"}), phases_add_up=False),
    "Voltage": Measurand("V", frozenset({"", "v"}), phases_add_up=False),
    "Frequency": Measurand("Hz", frozenset({"", "hz"}), phases_add_up=False, delivery_only=False),
    "SoC": Measurand("Percent", frozenset({"", "percent"}), phases_add_up=False, delivery_only=False),
    "Temperature": Measurand(
        "Celsius", frozenset({"", "celsius", "k", "fahrenheit"}), phases_add_up=False, delivery_only=False
    ),
}
DEFAULT_MEASURANDS = (ENERGY_REGISTER, ACTIVE_POWER)


@dataclass(frozen=True)
class MeterPoint:
    """One bucket of a measurand (or one reading, unbucketed): its last, mean, lowest and highest reading."""

    at: datetime
    last: Decimal
    avg: Decimal
    min: Decimal
    max: Decimal
    count: int


# Readings: one value per instant and measurand, the phase-less (or neutral) value if sent, else the phases summed
# or averaged. Buckets start on whole intervals since 2000-01-01 UTC (whole minutes, hours), not at the start.
_READINGS_SQL = """
    SELECT sampled_at, measurand, COALESCE(
        MAX(value_normalised) FILTER (WHERE phase IN ('', 'N')),
        CASE WHEN measurand = ANY(%(additive)s)
            THEN SUM(value_normalised) FILTER (WHERE phase NOT IN ('', 'N'))
            ELSE ROUND(AVG(value_normalised) FILTER (WHERE phase NOT IN ('', 'N')), 6)
        END
    ) AS value
    FROM {table}
    WHERE session_id = %(session_id)s
      AND measurand = ANY(%(measurands)s)
      AND (location = ANY(%(locations)s) OR NOT measurand = ANY(%(delivery)s))
      AND {unit_ok}
    GROUP BY sampled_at, measurand
"""
_BUCKETS_SQL = """
    WITH readings AS ({readings})
    SELECT measurand, date_bin(%(interval)s, sampled_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
        (ARRAY_AGG(value ORDER BY sampled_at DESC))[1], ROUND(AVG(value), 6), MIN(value), MAX(value), COUNT(*)
    FROM readings
    WHERE value IS NOT NULL
    GROUP BY measurand, bucket
    ORDER BY measurand, bucket
"""
# Every reading, but at most %(limit)s per measurand: a long session is never read to its end.
_RAW_SQL = """
    WITH readings AS ({readings})
    SELECT measurand, sampled_at, value, value, value, value, 1 FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY measurand ORDER BY sampled_at) AS position
        FROM readings WHERE value IS NOT NULL
    ) AS numbered
    WHERE position <= %(limit)s
    ORDER BY measurand, sampled_at
"""


def meter_series(
    *, session: ChargingSession, measurands: list[str], interval: timedelta | None, limit: int = 10_000
) -> dict[str, list[MeterPoint]]:
    """The session's readings of each measurand (a key of MEASURANDS) in base units, aggregated in SQL per bucket of
    `interval`, or every reading if `interval` is None (then the first `limit` of each). Samples in a unit foreign
    to the measurand are left out."""
    unit_checks = []
    params: dict = {
        "session_id": session.pk,
        "measurands": list(measurands),
        "additive": [name for name in measurands if MEASURANDS[name].phases_add_up],
        "delivery": [name for name in measurands if MEASURANDS[name].delivery_only],
        "locations": sorted(DELIVERY_LOCATIONS),
    }
    for index, name in enumerate(measurands):
        params[f"measurand_{index}"] = name
        params[f"units_{index}"] = sorted(MEASURANDS[name].units)
        unit_checks.append(f"(measurand = %(measurand_{index})s AND LOWER(unit) = ANY(%(units_{index})s))")
    readings = _READINGS_SQL.format(
        table=connection.ops.quote_name(MeterSample._meta.db_table), unit_ok=f"({' OR '.join(unit_checks)})"
    )
    if interval is None:
        sql = _RAW_SQL.format(readings=readings)
        params["limit"] = limit
    else:
        sql = _BUCKETS_SQL.format(readings=readings)
        params["interval"] = interval
    series: dict[str, list[MeterPoint]] = {name: [] for name in measurands}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for measurand, at, last, avg, low, high, count in cursor.fetchall():
            series[measurand].append(MeterPoint(at=at, last=last, avg=avg, min=low, max=high, count=count))
    return series


def remote_start_pending(*, id_tokens: list[IdToken], since: datetime):
    """The latest remote start (a Command) sent since `since` for one of `id_tokens` that the station has not
    refused and that no session followed yet: the driver app's start awaiting the station. None if there is none."""
    from apps.commands.models import Command

    uids = [token.uid for token in id_tokens]
    if not uids:
        return None
    command = (
        Command.objects.filter(
            operation="remote_start",
            params__id_token__in=uids,
            status__in=[Command.Status.PENDING, Command.Status.SENT, Command.Status.ACCEPTED],
            created_at__gte=since,
        )
        .order_by("-created_at")
        .first()
    )
    if (
        command is None
        or ChargingSession.objects.filter(id_token__in=id_tokens, created_at__gte=command.created_at).exists()
    ):
        return None
    return command
