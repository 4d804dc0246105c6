"""A reseller's dashboard over many customer brands: `python -m bench.reseller_dashboard [--customers 50]
[--sessions 2000] [--stations 20] [--runs 20]` makes the reseller `benchreseller` with that many customers (each with
stations, two connectors a station with a month of status reports, sessions and their CDRs over the last 30 days),
then times `reseller_dashboard` over 30 days and the customer page's reads, and prints a markdown table. The brands
are kept for the next run (made once) unless `--drop`. Run with DJANGO_SETTINGS_MODULE and DATABASE_URL of a
migrated bench database (`manage.py platform_migrate`)."""

import argparse
import random
import time
from datetime import timedelta
from decimal import Decimal

import django

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.billing.models import Cdr  # noqa: E402
from apps.sessions.models import ChargingSession  # noqa: E402
from apps.stations.models import Connector, Evse, Station, StatusChange  # noqa: E402
from apps.whitelabel.customers import customer_create  # noqa: E402
from apps.whitelabel.dashboards import (  # noqa: E402
    customer_days,
    customer_recent_sessions,
    period_of,
    reseller_dashboard,
)
from apps.whitelabel.models import Tenant  # noqa: E402
from apps.whitelabel.services import platform_tenant_ensure, tenant_create  # noqa: E402
from bench.stats import ms, percentile  # noqa: E402

RESELLER = "benchreseller"
STATUSES = ["Available", "Charging", "Available", "Charging", "Available", "Faulted", "Available", "Unavailable"]


def customer_fill(customer: Tenant, *, stations: int, sessions: int, rng: random.Random) -> None:
    now = timezone.now()
    with schema_context(customer.schema_name):
        made = Station.objects.bulk_create(
            Station(identity=f"{customer.slug.upper()}-{n:04d}", registration_status="accepted")
            for n in range(stations)
        )
        evses = Evse.objects.bulk_create(Evse(station=station, evse_id=1) for station in made)
        Connector.objects.bulk_create(Connector(evse=evse, connector_id=c) for evse in evses for c in (1, 2))
        StatusChange.objects.bulk_create(
            StatusChange(
                station=station,
                evse_id=1,
                connector_id=c,
                status=rng.choice(STATUSES),
                reported_at=now - timedelta(days=35) + timedelta(hours=18 * k + rng.random()),
            )
            for station in made
            for c in (1, 2)
            for k in range(46)  # every 18 h for 35 days
        )
        charged = ChargingSession.objects.bulk_create(
            ChargingSession(
                station=rng.choice(made),
                evse_id=1,
                connector_id=1,
                transaction_id=f"T{n}",
                status="completed",
                started_at=(start := now - timedelta(seconds=rng.randrange(30 * 86400))),
                stopped_at=start + timedelta(minutes=45),
                energy_wh=Decimal(rng.randrange(1000, 60000)),
                id_token_uid=f"TAG{n % 500:05d}",
            )
            for n in range(sessions)
        )
        Cdr.objects.bulk_create(
            Cdr(
                session=session,
                cdr_id=f"{customer.schema_name}-{session.pk}-0",
                currency=customer.currency,
                start_date_time=session.started_at,
                end_date_time=session.stopped_at,
                total_energy_kwh=session.energy_wh / 1000,
                total_excl_vat=(session.energy_wh / 1000 * Decimal("0.35")).quantize(Decimal("0.01")),
                total_incl_vat=(session.energy_wh / 1000 * Decimal("0.42")).quantize(Decimal("0.01")),
                ocpi_json="{}",
                content_hash="0" * 64,
            )
            for session in charged
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def prepare(customers: int, stations: int, sessions: int) -> Tenant:
    platform_tenant_ensure()
    reseller = Tenant.objects.filter(slug=RESELLER).first() or tenant_create(
        slug=RESELLER, name="Bench Reseller", kind=Tenant.Kind.RESELLER, domains=["benchreseller.localhost"]
    )
    rng = random.Random(8)
    have = reseller.customers.count()
    for n in range(have, customers):
        customer, _ = customer_create(
            reseller=reseller,
            name=f"Bench customer {n}",
            slug=f"benchc{n:03d}",
            owner_email=f"owner{n}@bench.example",
            currency="GBP" if n % 5 == 0 else "EUR",
            actor="bench",
        )
        customer_fill(customer, stations=stations, sessions=sessions, rng=rng)
    return reseller


def timed(function, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


def drop() -> None:
    for tenant in Tenant.objects.filter(reseller__slug=RESELLER):
        tenant.delete(force_drop=True)
    Tenant.objects.filter(slug=RESELLER).first().delete(force_drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--stations", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--drop", action="store_true", help="drop the bench brands afterwards")
    arguments = parser.parse_args()

    started = time.perf_counter()
    reseller = prepare(arguments.customers, arguments.stations, arguments.sessions)
    print(f"prepared in {time.perf_counter() - started:.1f} s")
    period = period_of(preset="30d", zone=reseller.timezone)
    customers = list(reseller.customers.all()[: arguments.customers])
    one = customers[0]
    dashboard = reseller_dashboard(reseller=reseller, period=period)
    rows = [
        (
            "reseller_dashboard (all customers, 30 days)",
            timed(lambda: reseller_dashboard(reseller=reseller, period=period), arguments.runs),
        ),
        (
            "customer_days (one customer, 30 days)",
            timed(lambda: customer_days(customer=one, period=period), arguments.runs),
        ),
        (
            "customer_recent_sessions (20, masked)",
            timed(lambda: customer_recent_sessions(customer=one, reveal_personal_data=False), arguments.runs),
        ),
    ]
    print(
        f"\n{len(dashboard.customers)} customers, {dashboard.total.stations} stations, "
        f"{dashboard.total.sessions} sessions in 30 days, revenue {dashboard.total.revenue}, "
        f"uptime {dashboard.total.uptime_percent} %\n"
    )
    print("| read | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
    for name, samples in rows:
        print(f"| {name} | {ms(percentile(samples, 0.5))} | {ms(percentile(samples, 0.95))} | {ms(max(samples))} |")
    if arguments.drop:
        drop()


if __name__ == "__main__":
    main()
