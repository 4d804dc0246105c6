"""Pull a module's objects from a roaming partner's SENDER interface, every page:
`manage.py ocpi_pull --tenant alpha --partner "Bravo Power" --module locations [--since 2026-01-01T00:00:00Z]`.

For a first load, a resync, or after the partner was down (`--since`: only what changed since, as date_from)."""

from datetime import UTC

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from django_tenants.utils import schema_context

from apps.roaming.exceptions import RoamingError
from apps.roaming.models import Partner
from apps.roaming.modules import PULL_STORES
from apps.roaming.pull import partner_pull
from apps.roaming.selectors import partner_get
from apps.whitelabel.models import Tenant


class Command(BaseCommand):
    help = "Pull locations, tariffs, sessions, CDRs or tokens from a roaming partner (OCPI 2.2.1, every page)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="The brand's slug")
        parser.add_argument("--partner", required=True, help="The partner's name")
        parser.add_argument("--module", required=True, choices=sorted(PULL_STORES), help="The OCPI module")
        parser.add_argument("--since", help="Only objects changed since (ISO 8601; UTC without an offset)")

    def handle(self, *args, tenant: str, partner: str, module: str, since: str | None, **options):
        date_from = None
        if since:
            date_from = parse_datetime(since)
            if date_from is None:
                raise CommandError(f"--since {since!r} is not an ISO 8601 date and time")
            if date_from.tzinfo is None:
                date_from = date_from.replace(tzinfo=UTC)
        brand = Tenant.objects.filter(slug=tenant).first()
        if brand is None:
            raise CommandError(f"No brand {tenant!r}")
        with schema_context(brand.schema_name):
            try:
                result = partner_pull(partner=partner_get(name=partner), module=module, date_from=date_from)
            except Partner.DoesNotExist as error:
                raise CommandError(f"No partner {partner!r} in {tenant}") from error
            except RoamingError as error:
                raise CommandError(f"OCPI {error.status_code}: {error}") from error
        self.stdout.write(
            f"{partner}: {result.stored} {module} stored from {result.pages} page(s), {len(result.refused)} refused"
        )
        for line in result.refused:
            self.stdout.write(f"refused {line}")
