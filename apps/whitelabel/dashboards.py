"""Reads for a reseller's dashboards: its customer brands' sessions, energy, revenue, uptime and faults over a period,
per customer and in total, and a customer's days and recent sessions (personal data masked unless allowed).

Each customer's figures live in its own schema. The whole list is one SQL statement (a UNION ALL of one branch per
customer schema, each branch aggregating in the database), so a reseller with fifty customers costs one round trip
and no row reaches Python. Definitions of every figure: docs/resellers.md.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context
from psycopg import sql

from apps.accounts.personal_data import mask_email, mask_name, mask_token
from apps.whitelabel.models import Tenant

# Connector statuses in which a driver cannot charge: the time spent in them is downtime (docs/resellers.md).
DOWN_STATUSES = ("Faulted", "Unavailable")
MAX_PERIOD_DAYS = 366
PRESETS = ("7d", "30d", "90d", "month", "last_month")
DEFAULT_PRESET = "30d"


# --- periods ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole local days [first_day, last_day] in `zone`, as the instants [start, end) the queries compare with."""

    first_day: date
    last_day: date
    zone: str

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=ZoneInfo(self.zone))

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=ZoneInfo(self.zone))

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


class PeriodError(ValueError):
    """A period that cannot be read: the message says why, for the field named `field`."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


def period_of(
    *, preset: str | None = None, first_day: date | None = None, last_day: date | None = None, zone: str = "UTC"
) -> Period:
    """The period a dashboard asks for: explicit days (both), else a preset ending today in `zone` (default 30d)."""
    if first_day is not None or last_day is not None:
        if first_day is None or last_day is None:
            raise PeriodError("start" if first_day is None else "end", _("Give both the first and the last day."))
        if last_day < first_day:
            raise PeriodError("end", _("The last day is before the first."))
        if (last_day - first_day).days + 1 > MAX_PERIOD_DAYS:
            raise PeriodError("end", _("A period is at most %(days)s days.") % {"days": MAX_PERIOD_DAYS})
        return Period(first_day, last_day, zone)
    preset = preset or DEFAULT_PRESET
    today = timezone.now().astimezone(ZoneInfo(zone)).date()
    if preset == "month":
        return Period(today.replace(day=1), today, zone)
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(last.replace(day=1), last, zone)
    if preset in PRESETS:
        return Period(today - timedelta(days=int(preset.removesuffix("d")) - 1), today, zone)
    raise PeriodError("period", _("One of: %(presets)s.") % {"presets": ", ".join(PRESETS)})


# --- aggregates ---------------------------------------------------------------------------------------------------


def _revenue_of(raw) -> dict[str, Decimal]:
    """The per-currency JSON object of a branch: amounts travel as text, never as floats."""
    if isinstance(raw, str):
        raw = json.loads(raw)
    return {currency: Decimal(amount) for currency, amount in sorted((raw or {}).items())}


@dataclass
class Figures:
    """A customer's (or the total's) figures over a period."""

    stations: int = 0
    sessions: int = 0
    energy_kwh: Decimal = Decimal(0)
    revenue: dict[str, Decimal] = field(default_factory=dict)  # incl. VAT, per currency, never summed across
    open_faults: int = 0
    known_seconds: Decimal = Decimal(0)  # connector-time with a known status in the period
    down_seconds: Decimal = Decimal(0)  # of which Faulted or Unavailable

    @property
    def uptime_percent(self) -> Decimal | None:
        if not self.known_seconds:
            return None
        up = (self.known_seconds - self.down_seconds) / self.known_seconds * 100
        return up.quantize(Decimal("0.01"))

    def add(self, other: "Figures") -> None:
        self.stations += other.stations
        self.sessions += other.sessions
        self.energy_kwh += other.energy_kwh
        for currency, amount in other.revenue.items():
            self.revenue[currency] = self.revenue.get(currency, Decimal(0)) + amount
        self.revenue = dict(sorted(self.revenue.items()))
        self.open_faults += other.open_faults
        self.known_seconds += other.known_seconds
        self.down_seconds += other.down_seconds


@dataclass
class CustomerFigures:
    customer: Tenant
    figures: Figures


@dataclass
class Dashboard:
    period: Period
    customers: list[CustomerFigures]
    total: Figures


def _tables() -> dict[str, str]:
    from apps.billing.models import Cdr
    from apps.sessions.models import ChargingSession
    from apps.stations.models import Connector, Evse, Fault, Station, StatusChange

    models = {
        "station": Station,
        "session": ChargingSession,
        "cdr": Cdr,
        "fault": Fault,
        "status": StatusChange,
        "connector": Connector,
        "evse": Evse,
    }
    return {name: model._meta.db_table for name, model in models.items()}


# One customer's figures; {tenant_id} is a literal, the tables are the customer's schema's. Uptime: every connector's
# status history in the period (plus the status it had when the period began) cut into spans, each span running
# until the connector's next report, the end of the period or now.
_BRANCH = """
SELECT {tenant_id}::bigint AS tenant_id,
       (SELECT count(*) FROM {station}) AS stations,
       charged.sessions,
       charged.energy_wh,
       (SELECT coalesce(jsonb_object_agg(currency, total::text), '{{}}'::jsonb)
          FROM (SELECT currency, sum(total_incl_vat) AS total FROM {cdr}
                 WHERE end_date_time >= %(start)s AND end_date_time < %(end)s GROUP BY currency) AS per_currency
       ) AS revenue,
       (SELECT count(*) FROM {fault} WHERE closed_at IS NULL) AS open_faults,
       uptime.known_seconds,
       uptime.down_seconds
  FROM (SELECT count(*) AS sessions, coalesce(sum(energy_wh), 0) AS energy_wh FROM {session}
         WHERE started_at >= %(start)s AND started_at < %(end)s) AS charged,
       (SELECT coalesce(sum(extract(epoch FROM until - since)), 0) AS known_seconds,
               coalesce(sum(extract(epoch FROM until - since)) FILTER (WHERE status = ANY(%(down)s)), 0)
                 AS down_seconds
          FROM (SELECT status,
                       greatest(reported_at, %(start)s) AS since,
                       least(coalesce(lead(reported_at) OVER (PARTITION BY station_id, evse_id, connector_id
                                                               ORDER BY reported_at), %(until)s), %(until)s) AS until
                  FROM (SELECT station_id, evse_id, connector_id, status, reported_at FROM {status}
                         WHERE evse_id > 0 AND reported_at >= %(start)s AND reported_at < %(until)s
                        UNION ALL
                        SELECT evse.station_id, evse.evse_id, connector.connector_id, before.status, before.reported_at
                          FROM {connector} AS connector JOIN {evse} AS evse ON evse.id = connector.evse_id
                          CROSS JOIN LATERAL (
                               SELECT status, reported_at FROM {status} AS change
                                WHERE change.station_id = evse.station_id AND change.evse_id = evse.evse_id
                                  AND change.connector_id = connector.connector_id AND change.reported_at < %(start)s
                                ORDER BY change.reported_at DESC LIMIT 1) AS before
                       ) AS history
               ) AS spans
         WHERE until > since) AS uptime
"""


def _branch(customer: Tenant, tables: dict[str, str]) -> sql.Composed:
    identifiers = {name: sql.Identifier(customer.schema_name, table) for name, table in tables.items()}
    return sql.SQL(_BRANCH).format(tenant_id=sql.Literal(customer.pk), **identifiers)


def _params(period: Period) -> dict:
    # Uptime stops at now: the future is neither up nor down.
    return {
        "start": period.start,
        "end": period.end,
        "until": min(period.end, timezone.now()),
        "down": list(DOWN_STATUSES),
    }


def figures_of(customers: list[Tenant], period: Period) -> dict[int, Figures]:
    """Each customer's figures over `period`, by tenant id, in one SQL statement across their schemas."""
    if not customers:
        return {}
    tables = _tables()
    query = sql.SQL(" UNION ALL ").join(_branch(customer, tables) for customer in customers)
    with connection.cursor() as cursor:
        cursor.execute(query, _params(period))
        rows = cursor.fetchall()
    return {
        tenant_id: Figures(
            stations=stations,
            sessions=sessions,
            energy_kwh=(Decimal(energy_wh) / 1000).quantize(Decimal("0.001")),
            revenue=_revenue_of(revenue),
            open_faults=open_faults,
            known_seconds=Decimal(known),
            down_seconds=Decimal(down),
        )
        for tenant_id, stations, sessions, energy_wh, revenue, open_faults, known, down in rows
    }


def customer_list(*, reseller: Tenant) -> QuerySet[Tenant]:
    """The reseller's customer brands (none for any other brand), by name."""
    return (
        Tenant.objects.filter(reseller=reseller, reseller__kind=Tenant.Kind.RESELLER)
        .exclude(schema_name=get_public_schema_name())
        .select_related("branding")
        .prefetch_related("domains")
        .order_by("name", "id")
    )


def reseller_dashboard(*, reseller: Tenant, period: Period) -> Dashboard:
    """Every customer of the reseller with its figures over `period`, and the total (revenue per currency)."""
    with schema_context(get_public_schema_name()):
        customers = list(customer_list(reseller=reseller))
    by_customer = figures_of(customers, period)
    total = Figures()
    rows = []
    for customer in customers:
        figures = by_customer.get(customer.pk, Figures())
        total.add(figures)
        rows.append(CustomerFigures(customer, figures))
    return Dashboard(period=period, customers=rows, total=total)


# --- one customer: its days and recent sessions -------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    day: date
    sessions: int
    energy_kwh: Decimal
    revenue: dict[str, Decimal]


_DAYS = """
SELECT days.day, coalesce(charged.sessions, 0), coalesce(charged.energy_wh, 0), coalesce(earned.revenue, '{{}}'::jsonb)
  FROM (SELECT generate_series(%(first_day)s::date, %(last_day)s::date, interval '1 day')::date AS day) AS days
  LEFT JOIN (SELECT (started_at AT TIME ZONE %(zone)s)::date AS day, count(*) AS sessions, sum(energy_wh) AS energy_wh
               FROM {session} WHERE started_at >= %(start)s AND started_at < %(end)s GROUP BY 1) AS charged
         USING (day)
  LEFT JOIN (SELECT day, jsonb_object_agg(currency, total::text) AS revenue
               FROM (SELECT (end_date_time AT TIME ZONE %(zone)s)::date AS day, currency, sum(total_incl_vat) AS total
                       FROM {cdr} WHERE end_date_time >= %(start)s AND end_date_time < %(end)s GROUP BY 1, 2) AS sums
              GROUP BY day) AS earned
         USING (day)
 ORDER BY days.day
"""


def customer_days(*, customer: Tenant, period: Period) -> list[Day]:
    """The customer's sessions, kWh and revenue per local day of the period (days without any included)."""
    tables = _tables()
    query = sql.SQL(_DAYS).format(
        session=sql.Identifier(customer.schema_name, tables["session"]),
        cdr=sql.Identifier(customer.schema_name, tables["cdr"]),
    )
    params = {
        "first_day": period.first_day,
        "last_day": period.last_day,
        "zone": period.zone,
        "start": period.start,
        "end": period.end,
    }
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    return [
        Day(day, sessions, (Decimal(energy_wh) / 1000).quantize(Decimal("0.001")), _revenue_of(revenue))
        for day, sessions, energy_wh, revenue in rows
    ]


@dataclass(frozen=True)
class RecentSession:
    id: int
    station: str
    started_at: datetime | None
    stopped_at: datetime | None
    status: str
    energy_kwh: Decimal
    token_uid: str
    driver_name: str
    driver_email: str


def customer_recent_sessions(*, customer: Tenant, reveal_personal_data: bool, limit: int = 20) -> list[RecentSession]:
    """The customer's latest sessions (by start) with who charged: the driver's name and email (the payer billing
    links to the session's token) and the token uid, masked unless `reveal_personal_data`."""
    from apps.sessions.models import ChargingSession

    with schema_context(customer.schema_name):
        sessions = list(
            ChargingSession.objects.select_related("station", "id_token__payment_customer_link__customer__user")
            .exclude(started_at=None)
            .order_by("-started_at", "-id")[:limit]
        )
    rows = []
    for session in sessions:
        payer = _payer_of(session)
        name = (payer.name or (payer.user.get_full_name() if payer.user else "")) if payer else ""
        email = (payer.email or (payer.user.email if payer.user else "")) if payer else ""
        uid = session.id_token_uid
        if not reveal_personal_data:
            name, email, uid = mask_name(name), mask_email(email), mask_token(uid)
        rows.append(
            RecentSession(
                id=session.pk,
                station=session.station.identity,
                started_at=session.started_at,
                stopped_at=session.stopped_at,
                status=session.get_status_display(),
                energy_kwh=(session.energy_wh / 1000).quantize(Decimal("0.001")),
                token_uid=uid,
                driver_name=name,
                driver_email=email,
            )
        )
    return rows


def _payer_of(session):
    token = session.id_token
    if token is None:
        return None
    try:
        return token.payment_customer_link.customer
    except token._meta.model.payment_customer_link.RelatedObjectDoesNotExist:
        return None
