"""Bring every schema up to date: public, the tenant template, then each tenant. The Procfile's release step."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from apps.whitelabel.services import platform_tenant_ensure, template_schema_migrate


class Command(BaseCommand):
    help = "Migrate the public schema, the template new tenants are cloned from, and every tenant schema."

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        platform_tenant_ensure()
        template_schema_migrate(verbosity=verbosity)
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
        self.stdout.write(self.style.SUCCESS("All schemas are migrated."))
