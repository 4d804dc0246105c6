"""The brand lifecycle from the shell: `manage.py tenant create|suspend|resume|export|delete|list`."""

import getpass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from apps.whitelabel.exceptions import TenantError
from apps.whitelabel.models import Tenant
from apps.whitelabel.selectors import tenant_get_by_slug, tenant_list, tenant_usage
from apps.whitelabel.services import (
    platform_subdomain,
    tenant_create,
    tenant_delete,
    tenant_export,
    tenant_resume,
    tenant_suspend,
)

BRANDING_OPTIONS = (
    "display_name",
    "primary_colour",
    "accent_colour",
    "email_sender_name",
    "email_sender",
    "support_email",
    "support_phone",
    "terms_url",
    "privacy_url",
)


def _validation_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
    return " ".join(error.messages)


class Command(BaseCommand):
    help = "Create, suspend, resume, export, delete and list brands (tenants)."

    def add_arguments(self, parser):
        parser.add_argument("--by", help="Who does this, for the history (default: command:<OS user>).")
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        create = actions.add_parser("create", help="Create a brand with its schema, domains and branding.")
        create.add_argument("slug", help="Names the schema and the subdomain <slug>.<PLATFORM_BASE_DOMAIN>.")
        create.add_argument("--name", required=True)
        create.add_argument("--kind", choices=[Tenant.Kind.OPERATOR, Tenant.Kind.RESELLER], default="operator")
        create.add_argument("--reseller", help="Slug of the reseller that manages this brand.")
        create.add_argument(
            "--domain", action="append", default=[], help="A custom domain (repeatable), after the platform subdomain."
        )
        create.add_argument("--locale", default="en")
        create.add_argument("--currency", default="EUR")
        create.add_argument("--timezone", default="UTC")
        create.add_argument("--plan", default="")
        create.add_argument("--max-stations", type=int)
        create.add_argument("--max-users", type=int)
        for option in BRANDING_OPTIONS:
            create.add_argument(f"--{option.replace('_', '-')}", dest=option, default="")
        create.add_argument("--logo", type=Path, help="An image file.")
        create.add_argument("--favicon", type=Path, help="An image file.")

        suspend = actions.add_parser("suspend", help="Suspend a brand: hosts answer 503, stations are refused.")
        suspend.add_argument("slug")
        suspend.add_argument("--reason", required=True)

        resume = actions.add_parser("resume", help="Lift a brand's suspension.")
        resume.add_argument("slug")
        resume.add_argument("--reason", default="")

        export = actions.add_parser("export", help="Write a ZIP of the brand's data (one CSV per table, manifest).")
        export.add_argument("slug")
        export.add_argument("--output", type=Path, required=True, help="The ZIP file to write.")

        delete = actions.add_parser("delete", help="Delete a suspended brand: its schema, domains and branding.")
        delete.add_argument("slug")
        delete.add_argument("--confirm", required=True, help="The brand's slug again.")
        delete.add_argument("--export", type=Path, dest="export_to", help="Export to this ZIP first.")
        delete.add_argument("--reason", default="")

        actions.add_parser("list", help="Every brand with its status, plan and usage.")

    def handle(self, *args, **options):
        self.actor = options["by"] or f"command:{getpass.getuser()}"
        handler = getattr(self, f"handle_{options['action']}")
        try:
            handler(options)
        except ValidationError as error:
            raise CommandError(_validation_message(error)) from error
        except TenantError as error:
            raise CommandError(str(error)) from error

    def _brand(self, slug: str) -> Tenant:
        tenant = tenant_get_by_slug(slug)
        if tenant is None:
            raise CommandError(f"No brand has the slug {slug!r}.")
        return tenant

    def handle_create(self, options):
        reseller = self._brand(options["reseller"]) if options["reseller"] else None
        branding = {name: options[name] for name in BRANDING_OPTIONS if options[name]}
        files = []
        try:
            for name in ("logo", "favicon"):
                if options[name]:
                    if not options[name].is_file():
                        raise CommandError(f"--{name}: {options[name]} is not a file.")
                    files.append(options[name].open("rb"))
                    branding[name] = File(files[-1], name=options[name].name)
            subdomain = platform_subdomain(options["slug"])
            tenant = tenant_create(
                slug=options["slug"],
                name=options["name"],
                kind=options["kind"],
                reseller=reseller,
                domains=[subdomain, *(host.strip().lower() for host in options["domain"] if host != subdomain)],
                default_locale=options["locale"],
                currency=options["currency"],
                timezone=options["timezone"],
                plan=options["plan"],
                max_stations=options["max_stations"],
                max_users=options["max_users"],
                branding=branding,
                actor=self.actor,
            )
        finally:
            for file in files:
                file.close()
        hosts = ", ".join(tenant.domains.order_by("-is_primary", "domain").values_list("domain", flat=True))
        self.stdout.write(self.style.SUCCESS(f"Created {tenant.slug} (schema {tenant.schema_name}): {hosts}"))

    def handle_suspend(self, options):
        tenant = tenant_suspend(tenant=self._brand(options["slug"]), actor=self.actor, reason=options["reason"])
        self.stdout.write(self.style.SUCCESS(f"Suspended {tenant.slug}: hosts answer 503, stations are refused."))

    def handle_resume(self, options):
        tenant = tenant_resume(tenant=self._brand(options["slug"]), actor=self.actor, reason=options["reason"])
        self.stdout.write(self.style.SUCCESS(f"Resumed {tenant.slug}."))

    def _export(self, tenant: Tenant, output: Path) -> None:
        if output.exists():
            raise CommandError(f"{output} exists; choose another file.")
        output.parent.mkdir(parents=True, exist_ok=True)
        try:
            manifest = tenant_export(tenant=tenant, output=output, actor=self.actor)
        except BaseException:
            output.unlink(missing_ok=True)
            raise
        rows = sum(table["rows"] for table in manifest["tables"])
        self.stdout.write(
            self.style.SUCCESS(f"Exported {tenant.slug} to {output}: {len(manifest['tables'])} tables, {rows} rows.")
        )

    def handle_export(self, options):
        self._export(self._brand(options["slug"]), options["output"])

    def handle_delete(self, options):
        tenant = self._brand(options["slug"])
        if options["confirm"] != tenant.slug:
            raise CommandError(f"--confirm must repeat the slug ({tenant.slug}); nothing was deleted.")
        if not tenant.is_suspended:
            raise CommandError(f"{tenant.slug} is not suspended: suspend it first; nothing was deleted.")
        if options["export_to"]:
            self._export(tenant, options["export_to"])
        else:
            self.stdout.write("No export was made (--export PATH makes one first).")
        tenant_delete(tenant=tenant, confirm_slug=options["confirm"], actor=self.actor, reason=options["reason"])
        self.stdout.write(self.style.SUCCESS(f"Deleted {tenant.slug}: its schema, domains and branding."))

    def handle_list(self, options):
        columns = ("slug", "name", "kind", "status", "plan", "stations", "users", "primary domain")
        rows = []
        for tenant in tenant_list().prefetch_related("domains").order_by("slug"):
            usage = tenant_usage(tenant)
            primary = next((d.domain for d in tenant.domains.all() if d.is_primary), "-")
            rows.append(
                (
                    tenant.slug,
                    tenant.name,
                    tenant.kind,
                    "suspended" if tenant.is_suspended else "active",
                    tenant.plan or "-",
                    f"{usage.stations}/{tenant.max_stations if tenant.max_stations is not None else '-'}",
                    f"{usage.users}/{tenant.max_users if tenant.max_users is not None else '-'}",
                    primary,
                )
            )
        widths = [max(len(str(row[i])) for row in (columns, *rows)) for i in range(len(columns))]
        for row in (columns, *rows):
            cells = (str(value).ljust(width) for value, width in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())
