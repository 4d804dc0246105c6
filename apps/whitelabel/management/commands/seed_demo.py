"""Seed the demo: a platform admin, two brands (demo, acme) with their branding, an operator, a site with stations
and RFID cards each. Idempotent."""

from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.accounts.services import user_create
from apps.commands.models import OnboardingProfile
from apps.sessions.models import IdToken
from apps.stations.models import Connector, Location, Station
from apps.stations.services import connector_get_or_create, station_password_set
from apps.whitelabel.models import Tenant
from apps.whitelabel.services import platform_tenant_ensure, tenant_create

PLATFORM_ADMIN = ("admin@platform.localhost", "platform-admin-pass")
DEMO_TENANTS = [
    {
        "slug": "demo",
        "name": "Demo Charging",
        "domains": ["demo.localhost"],
        "currency": "EUR",
        "timezone": "Europe/Amsterdam",
        "branding": {
            "primary_colour": "#0b6e4f",
            "accent_colour": "#f2a541",
            "support_email": "support@demo.localhost",
        },
        "operator": ("operator@demo.localhost", "demo-operator-pass"),
        "location": {
            "name": "Demo Park & Charge",
            "address": "Stationsplein 1",
            "city": "Utrecht",
            "country": "NL",
            "latitude": "52.089400",
            "longitude": "5.110200",
        },
        "stations": [("DEMO-16-01", "ocpp1.6"), ("DEMO-201-01", "ocpp2.0.1")],
        "id_tokens": ["DEMO-TAG-1", "DEMO-TAG-2", "DEMO-TAG-3", "DEMO-TAG-4"],
    },
    {
        "slug": "acme",
        "name": "ACME Energy",
        "domains": ["acme.localhost"],
        "currency": "GBP",
        "timezone": "Europe/London",
        "branding": {"primary_colour": "#7a1f5c", "accent_colour": "#2bb3c0", "support_email": "help@acme.localhost"},
        "operator": ("operator@acme.localhost", "acme-operator-pass"),
        "location": {
            "name": "ACME Depot",
            "address": "1 Dock Road",
            "city": "London",
            "country": "GB",
            "latitude": "51.507400",
            "longitude": "-0.127800",
        },
        "stations": [("ACME-01", "ocpp1.6")],
        "id_tokens": ["ACME-TAG-1"],
    },
]


SIMULATOR_MEASURANDS = ["Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage", "SoC"]

# The password the demo stations (and `make run`'s simulator) connect with.
DEMO_STATION_PASSWORD = "demo-station-password"


def _network_ensure(location: dict, stations: list[tuple[str, str]], id_tokens: list[str], timezone: str) -> bool:
    """A site whose stations are accepted with DEMO_STATION_PASSWORD, two Type 2 EVSEs each, and RFID cards."""
    created = OnboardingProfile.objects.get_or_create(
        vendor="OpenCharge Sim",
        model_pattern="SIM-*",
        defaults={
            "name": "OpenCharge simulator (tools/simulator)",
            "heartbeat_interval_s": 60,
            "meter_interval_s": 10,
            "measurands": SIMULATOR_MEASURANDS,
            "quirks": "Virtual station of `make run`; answers remote operations like a real charger.",
        },
    )[1]
    for uid in id_tokens:
        created |= IdToken.objects.get_or_create(uid=uid, type=IdToken.Type.ISO14443, defaults={"label": "Demo card"})[
            1
        ]
    if Station.objects.filter(identity=stations[0][0]).exists():
        return created
    site = Location.objects.create(timezone=timezone, opening_hours={"twentyfourseven": True}, **location)
    for identity, _protocol in stations:
        station = Station.objects.create(
            identity=identity, location=site, registration_status=Station.Registration.ACCEPTED
        )
        station_password_set(station=station, password=DEMO_STATION_PASSWORD)
        for evse_id in (1, 2):
            connector = connector_get_or_create(station=station, evse_id=evse_id, connector_id=1)
            connector.standard, connector.max_power_w = Connector.Standard.TYPE_2, 22000
            connector.save()
    return True


def _user_ensure(email: str, password: str, **fields) -> bool:
    if User.objects.filter(email=email).exists():
        return False
    user_create(email=email, password=password, **fields)
    return True


class Command(BaseCommand):
    help = "Create the demo platform admin, brands and operators if they do not exist yet."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="Port shown in the printed URLs.")

    def handle(self, *args, port: int, **options):
        platform_tenant_ensure()
        email, password = PLATFORM_ADMIN
        created = _user_ensure(email, password, role=Role.OWNER, is_superuser=True)
        lines = [f"Platform admin  http://localhost:{port}/admin/  {email} / {password}"]

        for spec in DEMO_TENANTS:
            spec = dict(spec)
            operator_email, operator_password = spec.pop("operator")
            network = (spec.pop("location"), spec.pop("stations"), spec.pop("id_tokens"))
            tenant = Tenant.objects.filter(slug=spec["slug"]).first()
            if tenant is None:
                tenant = tenant_create(**spec)
                created = True
            with schema_context(tenant.schema_name):
                created |= _user_ensure(operator_email, operator_password, role=Role.OPERATOR, first_name="Operator")
                created |= _network_ensure(*network, timezone=tenant.timezone)
            host = tenant.get_primary_domain().domain
            lines.append(f"{tenant.name:<15} http://{host}:{port}/admin/  {operator_email} / {operator_password}")

        self.stdout.write("Demo data created." if created else "Demo data already present; nothing changed.")
        lines.append(
            f"Stations        ws://127.0.0.1:{port}/ocpp/demo/DEMO-16-01 (ocpp1.6), .../DEMO-201-01 (ocpp2.0.1), "
            f"HTTP Basic password {DEMO_STATION_PASSWORD}"
        )
        self.stdout.write("\n".join(lines))
