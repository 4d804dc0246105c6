"""The platform side of a bench run, in its own database: `python -m bench.prepare STATIONS` makes the brand
`bench` with STATIONS accepted stations BENCH-00001... sharing one password, and empties what the previous run
left (meter samples, message log, commands). `python -m bench.prepare --count-samples` prints the meter samples
stored. Run with DJANGO_SETTINGS_MODULE and DATABASE_URL of the bench database."""

import sys

import django

django.setup()

from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.stations.models import NetworkSettings, Station  # noqa: E402
from apps.stations.services import station_password_hash  # noqa: E402
from apps.whitelabel.models import Tenant  # noqa: E402
from apps.whitelabel.services import platform_tenant_ensure, tenant_create  # noqa: E402

PASSWORD = "bench-station-password-0123456789"
BRAND = "bench"


def prepare(count: int) -> None:
    platform_tenant_ensure()
    tenant = Tenant.objects.filter(slug=BRAND).first() or tenant_create(
        slug=BRAND, name="Bench", domains=["bench.localhost"]
    )
    with schema_context(tenant.schema_name):
        network = NetworkSettings.get()
        network.onboarding_policy = NetworkSettings.OnboardingPolicy.REJECT
        network.save()
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE charging_metersample, stations_messagelogentry, commands_command CASCADE")
            cursor.execute("UPDATE stations_station SET is_online = false")
        have = Station.objects.count()
        password_hash = station_password_hash(PASSWORD)
        Station.objects.bulk_create(
            Station(
                identity=f"BENCH-{number:05d}",
                password_hash=password_hash,
                registration_status=Station.Registration.ACCEPTED,
            )
            for number in range(have + 1, count + 1)
        )
    print(f"bench brand ready: {max(have, count)} stations")


def samples() -> int:
    with schema_context(Tenant.objects.get(slug=BRAND).schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM charging_metersample")
        return cursor.fetchone()[0]


if __name__ == "__main__":
    if sys.argv[1] == "--count-samples":
        print(samples())
    else:
        prepare(int(sys.argv[1]))
