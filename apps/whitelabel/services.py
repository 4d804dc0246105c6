"""Writes of tenants: the platform's own tenant, the template schema, and brands cloned from it."""

import logging

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.clone import CloneSchema
from django_tenants.utils import get_public_schema_name, schema_exists

from apps.whitelabel.exceptions import TemplateSchemaMissingError, TenantError
from apps.whitelabel.models import Branding, Domain, Tenant, schema_name_for_slug

logger = logging.getLogger(__name__)


@transaction.atomic
def platform_tenant_ensure(*, hosts: list[str] | None = None) -> Tenant:
    """The public schema's tenant row and the platform's own hosts (PLATFORM_HOSTS); idempotent."""
    tenant, _ = Tenant.objects.get_or_create(
        schema_name=get_public_schema_name(),
        defaults={"slug": "platform", "name": "Platform", "kind": Tenant.Kind.PLATFORM},
    )
    for index, host in enumerate(hosts if hosts is not None else settings.PLATFORM_HOSTS):
        Domain.objects.get_or_create(domain=host.lower(), defaults={"tenant": tenant, "is_primary": index == 0})
    return tenant


def template_schema_name() -> str:
    return settings.TENANT_TEMPLATE_SCHEMA


def template_schema_migrate(*, verbosity: int = 0) -> None:
    """Create the template schema if needed and apply the tenant apps' migrations to it."""
    template = template_schema_name()
    if not schema_exists(template):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{template}"')
    call_command("migrate_schemas", tenant=True, schema_name=template, interactive=False, verbosity=verbosity)


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    domains: list[str],
    kind: str = Tenant.Kind.OPERATOR,
    reseller: Tenant | None = None,
    default_locale: str = "en",
    currency: str = "EUR",
    timezone: str = "UTC",
    branding: dict | None = None,
) -> Tenant:
    """Create a brand: its row, domains and branding, and its schema cloned from the migrated template.

    All in one transaction: a brand that fails half-way leaves no row and no schema behind.
    """
    if not domains:
        raise TenantError("A tenant needs at least one domain.")
    template = template_schema_name()
    if not schema_exists(template):
        raise TemplateSchemaMissingError(f"Schema {template!r} does not exist; run `manage.py platform_migrate`.")

    tenant = Tenant(
        schema_name=schema_name_for_slug(slug),
        slug=slug,
        name=name,
        kind=kind,
        reseller=reseller,
        default_locale=default_locale,
        currency=currency,
        timezone=timezone,
    )
    tenant.full_clean()
    tenant.save()
    for index, host in enumerate(domains):
        domain = Domain(domain=host, tenant=tenant, is_primary=index == 0)
        domain.full_clean()
        domain.save()
    branding_row = Branding(tenant=tenant, **{"display_name": name, **(branding or {})})
    branding_row.full_clean()
    branding_row.save()

    CloneSchema().clone_schema(template, tenant.schema_name, "DATA")
    connection.set_schema_to_public()
    logger.info("tenant created: %s (schema %s, domains %s)", slug, tenant.schema_name, ", ".join(domains))
    return tenant
