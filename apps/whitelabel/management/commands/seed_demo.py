"""Seed the demo: a platform admin, two brands (demo, acme) with their branding, an operator (the demo brand also one
staff member per other role), a site with stations
and RFID cards each; the demo brand also gets a tariff and an offline sandbox payment account paying DEMO-TAG-1's
sessions (docs/billing.md), and an API key with every scope, written to .data/demo-api-key for the README's curl
examples. Every seeded address is verified, so the logins work at once under mandatory email verification.
Idempotent."""

from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.accounts.services import user_create
from apps.api.models import ApiKey, Scope
from apps.api.services import PREFIX_LENGTH, api_key_create
from apps.commands.models import OnboardingProfile
from apps.roaming.models import Partner, RoamingSettings
from apps.roaming.services import partner_create
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
        "billing": True,
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
        "billing": False,
        # So that the driver app shows a price at the ACME site too.
        "tariff": {
            "code": "ACME-AC",
            "name": "ACME AC",
            "currency": "GBP",
            "elements": [{"price_components": [{"type": "ENERGY", "price": "0.40", "vat": "20", "step_size": 1}]}],
        },
    },
]

# A reseller brand whose customers are both demo brands: its manager sees their figures side by side (EUR and GBP
# revenue apart) at /portal/customers/ and creates more customer brands there (docs/resellers.md).
DEMO_RESELLER = {
    "slug": "volt",
    "name": "Volt Resale",
    "domains": ["volt.localhost"],
    "kind": Tenant.Kind.RESELLER,
    "currency": "EUR",
    "timezone": "Europe/Amsterdam",
    "branding": {"primary_colour": "#3b2f8f", "accent_colour": "#f25f5c", "support_email": "partners@volt.localhost"},
}
DEMO_RESELLER_MANAGER = ("manager@volt.localhost", "volt-reseller-pass")

# The demo brand's other staff, one per role, to try the portal and the admin as each (README, demo logins); they
# share the operator's password.
DEMO_STAFF_ROLES = [Role.OWNER, Role.ADMIN, Role.TECHNICIAN, Role.FINANCE, Role.SUPPORT, Role.READ_ONLY]
DEMO_STAFF_PASSWORD = "demo-operator-pass"


def demo_staff_email(role: str) -> str:
    return f"{role.replace('_', '')}@demo.localhost"


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


# The demo brand's tariff: 0.35/kWh, parking 0.10/h after 15 minutes' grace, 21 % VAT.
DEMO_TARIFF = {
    "code": "DEMO-AC",
    "name": "Demo AC",
    "currency": "EUR",
    "parking_grace_minutes": 15,
    "tariff_alt_text": [{"language": "en", "text": "0.35/kWh; parking 0.10/h after 15 minutes; incl. 21 % VAT"}],
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": "0.35", "vat": "21", "step_size": 1},
                {"type": "PARKING_TIME", "price": "0.10", "vat": "21", "step_size": 60},
            ]
        }
    ],
}
# The card whose sessions are paid with a stored card: a hold when it starts, a capture when it ends.
DEMO_PAYING_TAG = "DEMO-TAG-1"


def _tariff_ensure(spec: dict) -> bool:
    """The tariff of `spec`, assigned to the brand's (first) demo site for all customers."""
    from apps.tariffs.models import Tariff, TariffAssignment

    tariff, created = Tariff.objects.get_or_create(code=spec["code"], defaults=spec)
    location = Location.objects.order_by("id").first()
    if location is not None and not TariffAssignment.objects.filter(tariff=tariff, location=location).exists():
        TariffAssignment.objects.create(tariff=tariff, location=location)
        created = True
    return created


def _billing_ensure() -> bool:
    """The demo tariff at the demo site, and an OFFLINE SANDBOX Stripe account (test mode; an in-process transport
    answers like Stripe's test mode, since `make run` has no internet) with a customer paying DEMO_PAYING_TAG."""
    from apps.billing.models import PaymentAccount, PaymentCustomerToken, Provider
    from apps.billing.services.payments import payment_customer_create, payment_method_attach

    created = _tariff_ensure(DEMO_TARIFF)
    account, made = PaymentAccount.objects.get_or_create(
        provider=Provider.STRIPE,
        defaults={
            "mode": PaymentAccount.Mode.TEST,
            "offline_sandbox": True,
            "secret_key": "sk_test_offline_sandbox",
            "webhook_secret": "whsec_offline_sandbox",
        },
    )
    created |= made
    token = IdToken.objects.get(uid=DEMO_PAYING_TAG, type=IdToken.Type.ISO14443)
    if account.offline_sandbox and not PaymentCustomerToken.objects.filter(id_token=token).exists():
        customer = payment_customer_create(account=account, reference="demo-driver", email="driver@demo.localhost")
        payment_method_attach(customer=customer, payment_method="pm_card_visa")
        PaymentCustomerToken.objects.create(customer=customer, id_token=token)
        created = True
    return created


# A driver of the demo brand for the driver app, with a test card on file (the offline sandbox) so starts from the
# app are held and captured like a real driver's.
DEMO_DRIVER = ("driver@demo.localhost", "demo-driver-pass")


def _driver_ensure() -> bool:
    from apps.billing.services.drivers import (
        driver_payment_account,
        driver_payment_method_add,
        driver_payment_method_list,
    )

    email, password = DEMO_DRIVER
    created = _user_ensure(email, password, role=Role.DRIVER, first_name="Dana", last_name="Driver")
    user = User.objects.get(email=email)
    if driver_payment_account() is not None and not driver_payment_method_list(user=user).exists():
        driver_payment_method_add(user=user, provider_reference="pm_card_visa")
        created = True
    return created


DEMO_API_KEY_NAME = "Demo integration (make run)"
DEMO_API_KEY_FILE = Path(settings.BASE_DIR) / ".data" / "demo-api-key"


def _api_key_ensure(path: Path) -> bool:
    """The demo brand's API key: kept while .data/demo-api-key holds a live key of this brand, made anew otherwise
    (a key's plaintext exists only when it is created)."""
    saved = path.read_text().strip() if path.exists() else ""
    live = ApiKey.objects.filter(name=DEMO_API_KEY_NAME, revoked_at__isnull=True)
    if saved and live.filter(prefix=saved[:PREFIX_LENGTH]).exists():
        return False
    _, plaintext = api_key_create(name=DEMO_API_KEY_NAME, scopes=Scope.values)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(plaintext + "\n")
    path.chmod(0o600)
    return True


def _user_ensure(email: str, password: str, **fields) -> bool:
    user = User.objects.filter(email=email).first()
    if user is None:
        user_create(email=email, password=password, email_verified=True, **fields)
        return True
    # Seeded before sign-in needed a verified address: verify it now.
    if not EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists():
        EmailAddress.objects.filter(user=user).delete()
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        return True
    return False


# Roaming between the two demo brands (docs/roaming.md): demo is the CPO, acme the eMSP whose drivers charge at demo.
DEMO_ROAMING = {
    "demo": {"country_code": "NL", "party_id": "DMO", "roles": ["CPO"]},
    "acme": {"country_code": "GB", "party_id": "ACM", "roles": ["EMSP"]},
}


def _roaming_ensure(tenants: dict[str, Tenant], port: int) -> bool:
    """Each demo brand as an OCPI party; acme issues a token A and demo holds it as a partner ready to register
    (admin > Roaming partners > "Register", or `manage.py ocpi_register --tenant demo --partner "ACME Energy"`)."""
    created = False
    for slug, party in DEMO_ROAMING.items():
        tenant = tenants[slug]
        with schema_context(tenant.schema_name):
            if not RoamingSettings.objects.exists():
                RoamingSettings.objects.create(
                    business_name=tenant.name,
                    public_url=f"http://{tenant.get_primary_domain().domain}:{port}",
                    **party,
                )
                created = True
    cpo, emsp = tenants["demo"], tenants["acme"]
    with schema_context(cpo.schema_name):
        if Partner.objects.filter(name=emsp.name).exists():
            return created
    with schema_context(emsp.schema_name):
        Partner.objects.filter(name=cpo.name).delete()
        _, token_a = partner_create(name=cpo.name)
    with schema_context(cpo.schema_name):
        partner_create(
            name=emsp.name,
            versions_url=f"http://{emsp.get_primary_domain().domain}:{port}/ocpi/versions",
            token=token_a,
        )
    return True


class Command(BaseCommand):
    help = "Create the demo platform admin, brands and operators if they do not exist yet."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="Port shown in the printed URLs.")
        parser.add_argument(
            "--api-key-file", type=Path, default=DEMO_API_KEY_FILE, help="Where the demo brand's API key is written."
        )

    def handle(self, *args, port: int, api_key_file: Path, **options):
        platform_tenant_ensure()
        email, password = PLATFORM_ADMIN
        created = _user_ensure(email, password, role=Role.OWNER, is_superuser=True)
        lines = [f"Platform admin  http://localhost:{port}/admin/  {email} / {password}"]

        reseller = Tenant.objects.filter(slug=DEMO_RESELLER["slug"]).first()
        if reseller is None:
            reseller = tenant_create(**DEMO_RESELLER)
            created = True
        manager_email, manager_password = DEMO_RESELLER_MANAGER
        with schema_context(reseller.schema_name):
            created |= _user_ensure(manager_email, manager_password, role=Role.RESELLER_MANAGER, first_name="Manager")

        tenants = {}
        for spec in DEMO_TENANTS:
            spec = dict(spec, reseller=reseller)
            operator_email, operator_password = spec.pop("operator")
            network = (spec.pop("location"), spec.pop("stations"), spec.pop("id_tokens"))
            billing = spec.pop("billing")
            tariff = spec.pop("tariff", None)
            tenant = Tenant.objects.filter(slug=spec["slug"]).first()
            if tenant is None:
                tenant = tenant_create(**spec)
                created = True
            elif tenant.reseller_id is None:  # seeded before the demo had a reseller
                Tenant.objects.filter(pk=tenant.pk).update(reseller=reseller)
                created = True
            with schema_context(tenant.schema_name):
                created |= _user_ensure(operator_email, operator_password, role=Role.OPERATOR, first_name="Operator")
                if spec["slug"] == "demo":
                    for role in DEMO_STAFF_ROLES:
                        created |= _user_ensure(
                            demo_staff_email(role), DEMO_STAFF_PASSWORD, role=role, first_name=Role(role).label
                        )
                created |= _network_ensure(*network, timezone=tenant.timezone)
                if tariff:
                    created |= _tariff_ensure(tariff)
                if billing:
                    created |= _billing_ensure()
                    created |= _driver_ensure()
                    created |= _api_key_ensure(api_key_file)
            tenants[spec["slug"]] = tenant
            host = tenant.get_primary_domain().domain
            lines.append(f"{tenant.name:<15} http://{host}:{port}/admin/  {operator_email} / {operator_password}")
            if spec["slug"] == "demo":
                others = ", ".join(demo_staff_email(role) for role in DEMO_STAFF_ROLES)
                lines.append(f"{'':<15} http://{host}:{port}/portal/  {others} / {DEMO_STAFF_PASSWORD}")

        created |= _roaming_ensure(tenants, port)
        lines.append(
            f"{reseller.name:<15} http://volt.localhost:{port}/portal/customers/  {manager_email} / {manager_password}"
        )
        self.stdout.write("Demo data created." if created else "Demo data already present; nothing changed.")
        lines.append(
            f"Stations        ws://127.0.0.1:{port}/ocpp/demo/DEMO-16-01 (ocpp1.6), .../DEMO-201-01 (ocpp2.0.1), "
            f"HTTP Basic password {DEMO_STATION_PASSWORD}"
        )
        lines.append(
            f"Billing         demo: tariff {DEMO_TARIFF['code']} at the demo site; {DEMO_PAYING_TAG}'s sessions are "
            "held and captured through the OFFLINE Stripe sandbox (test mode); CDRs and invoice PDFs in the admin"
        )
        lines.append(
            f"Driver app      http://demo.localhost:{port}/app/ ; a sticker's page: "
            f"http://demo.localhost:{port}/app/e/DEMO%2ADEMO-16-01%2A1 ; QR stickers: admin > Stations > action; "
            f"driver {DEMO_DRIVER[0]} / {DEMO_DRIVER[1]} (a test card on file)"
        )
        lines.append(
            f"Roaming (OCPI)  demo (CPO NL*DMO) and acme (eMSP GB*ACM) are ready to register with each other: "
            f'http://demo.localhost:{port}/admin/roaming/partner/ > ACME Energy > action "Register" '
            '(or manage.py ocpi_register --tenant demo --partner "ACME Energy")'
        )
        lines.append(
            f"API             http://demo.localhost:{port}/api/docs/ with the key in {api_key_file} "
            "(Authorization: Bearer <key>)"
        )
        self.stdout.write("\n".join(lines))
