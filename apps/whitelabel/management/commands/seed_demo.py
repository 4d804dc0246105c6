"""Seed the demo: a platform admin, two brands (demo, acme) with their branding and an operator each. Idempotent."""

from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.accounts.services import user_create
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
    },
    {
        "slug": "acme",
        "name": "ACME Energy",
        "domains": ["acme.localhost"],
        "currency": "GBP",
        "timezone": "Europe/London",
        "branding": {"primary_colour": "#7a1f5c", "accent_colour": "#2bb3c0", "support_email": "help@acme.localhost"},
        "operator": ("operator@acme.localhost", "acme-operator-pass"),
    },
]


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
            tenant = Tenant.objects.filter(slug=spec["slug"]).first()
            if tenant is None:
                tenant = tenant_create(**spec)
                created = True
            with schema_context(tenant.schema_name):
                created |= _user_ensure(operator_email, operator_password, role=Role.OPERATOR, first_name="Operator")
            host = tenant.get_primary_domain().domain
            lines.append(f"{tenant.name:<15} http://{host}:{port}/admin/  {operator_email} / {operator_password}")

        self.stdout.write("Demo data created." if created else "Demo data already present; nothing changed.")
        self.stdout.write("\n".join(lines))
