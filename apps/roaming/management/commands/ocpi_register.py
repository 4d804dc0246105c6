"""Register a brand with a roaming partner: `manage.py ocpi_register --tenant alpha --partner "Bravo Power"`.

The partner row must exist in the brand's schema with their versions URL and the token A they gave us (`token_b`)."""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from apps.roaming.exceptions import RoamingError
from apps.roaming.models import Partner
from apps.roaming.selectors import partner_get
from apps.roaming.services import partner_register
from apps.whitelabel.models import Tenant


class Command(BaseCommand):
    help = "Register with a roaming partner over OCPI 2.2.1 (versions, details, POST credentials)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="The brand's slug")
        parser.add_argument("--partner", required=True, help="The partner's name")

    def handle(self, *args, tenant: str, partner: str, **options):
        brand = Tenant.objects.filter(slug=tenant).first()
        if brand is None:
            raise CommandError(f"No brand {tenant!r}")
        with schema_context(brand.schema_name):
            try:
                registered = partner_register(partner=partner_get(name=partner))
            except Partner.DoesNotExist as error:
                raise CommandError(f"No partner {partner!r} in {tenant}") from error
            except RoamingError as error:
                raise CommandError(f"OCPI {error.status_code}: {error}") from error
        self.stdout.write(f"{registered.name}: {registered.status}, OCPI {registered.version}")
