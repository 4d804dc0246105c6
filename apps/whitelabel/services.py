"""Writes of tenants: the platform's own tenant, the template schema, and brands cloned from it, suspended, resumed,
exported and deleted. Every lifecycle step records a `TenantEvent` (who, when, why)."""

import functools
import json
import logging
import platform as python_platform
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path
from typing import BinaryIO

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.clone import CloneSchema
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists
from psycopg import sql

from apps.accounts.audit import Actor, audit_record
from apps.whitelabel.exceptions import TemplateSchemaMissingError, TenantError, TenantLimitReachedError
from apps.whitelabel.models import Branding, Domain, Tenant, TenantEvent, schema_name_for_slug

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "ev-platform tenant export"
EXPORT_FORMAT_VERSION = 1
# The message a station's connection (apps.ocpp.consumer.OcppConsumer.ocpp_suspended) closes on.
SUSPENDED_MESSAGE = "ocpp.suspended"


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


def platform_subdomain(slug: str) -> str:
    """The host every brand gets on the platform's own domain: <slug>.<PLATFORM_BASE_DOMAIN>."""
    return f"{slug}.{settings.PLATFORM_BASE_DOMAIN}"


def _event_record(
    *, tenant: Tenant | None, slug: str, action: str, actor: str, reason: str = "", detail: dict | None = None
) -> TenantEvent:
    event = TenantEvent.objects.create(
        tenant=tenant, tenant_slug=slug, action=action, actor=actor[:150], reason=reason, detail=detail or {}
    )
    # The platform's audit log (public schema) has every lifecycle step too, beside the brand's own history. The
    # `actor` text names who asked where no request does (a management command).
    audit_record(
        action=f"tenant.{action}",
        target_type="whitelabel.tenant",
        target_id=tenant.pk if tenant is not None else "",
        target_label=slug,
        changes={"reason": reason, **(detail or {})},
        default_actor=Actor(kind=Actor.kind_of(actor), label=actor[:200]),
        public=True,
    )
    return event


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
    plan: str = "",
    max_stations: int | None = None,
    max_users: int | None = None,
    actor: str = "system",
) -> Tenant:
    """Create a brand: its row, domains and branding, and its schema cloned from the migrated template.

    All in one transaction: a brand that fails half-way leaves no row and no schema behind.
    """
    if not domains:
        raise TenantError("A tenant needs at least one domain.")
    if kind == Tenant.Kind.PLATFORM:
        raise TenantError("The platform tenant exists once, for the public schema; a brand is an operator or reseller.")
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
        plan=plan,
        max_stations=max_stations,
        max_users=max_users,
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
    _event_record(tenant=tenant, slug=slug, action=TenantEvent.Action.CREATED, actor=actor, detail={"domains": domains})
    logger.info("tenant created: %s (schema %s, domains %s)", slug, tenant.schema_name, ", ".join(domains))
    return tenant


def _in_public(function):
    """Lifecycle services act on public rows and name schemas explicitly, whatever schema the caller is in."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with schema_context(get_public_schema_name()):
            return function(*args, **kwargs)

    return wrapper


def _brand_locked(tenant: Tenant) -> Tenant:
    """The brand's row, locked for the rest of the transaction; the platform's own tenant is refused."""
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if locked.schema_name == get_public_schema_name():
        raise TenantError("The platform's own tenant cannot be suspended, resumed or deleted.")
    return locked


def _online_station_ids(schema_name: str) -> list[int]:
    from apps.stations.models import Station

    query = sql.SQL("SELECT id FROM {} WHERE is_online").format(sql.Identifier(schema_name, Station._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(query)
        return [row[0] for row in cursor.fetchall()]


def _station_connections_close(schema_name: str, station_ids: list[int]) -> None:
    """Ask each connected station's connection, on whichever process holds it, to close; the station's next
    handshake is refused. Without a shared channel layer (one process, no Redis) only this process is reached."""
    from apps.stations.live import connection_group

    layer = get_channel_layer()
    if layer is None or not station_ids:
        return

    async def send_all():
        for station_id in station_ids:
            await layer.group_send(connection_group(schema_name, station_id), {"type": SUSPENDED_MESSAGE})

    try:
        async_to_sync(send_all)()
    except Exception:
        logger.exception("tenant %s suspended, but closing its station connections failed", schema_name)


@_in_public
@transaction.atomic
def tenant_suspend(*, tenant: Tenant, actor: str, reason: str) -> Tenant:
    """Suspend a brand: its hosts answer 503, its stations are refused at the handshake (connected ones are closed
    after commit). Nothing is deleted; `tenant_resume` restores everything."""
    tenant = _brand_locked(tenant)
    reason = reason.strip()
    if not reason:
        raise TenantError("Say why the brand is suspended.")
    if tenant.is_suspended:
        raise TenantError(f"{tenant.slug} is already suspended (since {tenant.suspended_at:%Y-%m-%d %H:%M} UTC).")
    tenant.suspended_at = timezone.now()
    tenant.suspended_by = actor[:150]
    tenant.suspension_reason = reason
    tenant.save(update_fields=["suspended_at", "suspended_by", "suspension_reason"])
    _event_record(tenant=tenant, slug=tenant.slug, action=TenantEvent.Action.SUSPENDED, actor=actor, reason=reason)
    station_ids = _online_station_ids(tenant.schema_name)
    schema_name = tenant.schema_name
    transaction.on_commit(lambda: _station_connections_close(schema_name, station_ids))
    logger.info("tenant suspended: %s by %s: %s", tenant.slug, actor, reason)
    return tenant


@_in_public
@transaction.atomic
def tenant_resume(*, tenant: Tenant, actor: str, reason: str = "") -> Tenant:
    """Lift a suspension: the hosts answer again and stations are admitted at their next connection."""
    tenant = _brand_locked(tenant)
    if not tenant.is_suspended:
        raise TenantError(f"{tenant.slug} is not suspended.")
    detail = {
        "suspended_at": tenant.suspended_at.isoformat(),
        "suspended_by": tenant.suspended_by,
        "suspension_reason": tenant.suspension_reason,
    }
    tenant.suspended_at = None
    tenant.suspended_by = ""
    tenant.suspension_reason = ""
    tenant.save(update_fields=["suspended_at", "suspended_by", "suspension_reason"])
    _event_record(
        tenant=tenant, slug=tenant.slug, action=TenantEvent.Action.RESUMED, actor=actor, reason=reason, detail=detail
    )
    logger.info("tenant resumed: %s by %s", tenant.slug, actor)
    return tenant


# --- export -------------------------------------------------------------------------------------------------------


def _tenant_public_rows(tenant: Tenant) -> dict:
    """The brand's rows in the public schema, as the manifest carries them."""
    branding = Branding.objects.filter(tenant=tenant).values().first() or {}
    branding = {key: value for key, value in branding.items() if key not in {"id", "tenant_id"}}
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "kind": tenant.kind,
        "schema_name": tenant.schema_name,
        "reseller": tenant.reseller.slug if tenant.reseller_id else None,
        "default_locale": tenant.default_locale,
        "currency": tenant.currency,
        "timezone": tenant.timezone,
        "plan": tenant.plan,
        "max_stations": tenant.max_stations,
        "max_users": tenant.max_users,
        "created_at": tenant.created_at.isoformat(),
        "suspended_at": tenant.suspended_at.isoformat() if tenant.suspended_at else None,
        "suspended_by": tenant.suspended_by,
        "suspension_reason": tenant.suspension_reason,
        "domains": [
            {"domain": domain, "is_primary": primary}
            for domain, primary in tenant.domains.order_by("-is_primary", "domain").values_list("domain", "is_primary")
        ],
        "branding": branding,
    }


def _schema_tables(schema_name: str) -> list[str]:
    """Tables of the schema holding rows: ordinary and partitioned tables, not their partitions (read through
    the parent, so no row is exported twice)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname",
            [schema_name],
        )
        return [row[0] for row in cursor.fetchall()]


def _schema_migrations(schema_name: str) -> dict[str, str]:
    """The last applied migration of each app in the schema."""
    query = sql.SQL("SELECT app, max(name) FROM {} GROUP BY app ORDER BY app").format(
        sql.Identifier(schema_name, "django_migrations")
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        return dict(cursor.fetchall())


def _versions() -> dict:
    with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    packages = {}
    for package in ("django", "django-tenants", "psycopg"):
        try:
            packages[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            packages[package] = None
    return {project["name"]: project["version"], "python": python_platform.python_version(), **packages}


def _table_copy(schema_name: str, table: str, into: BinaryIO) -> int:
    """Stream one table as CSV (header, NULL unquoted and empty, '' quoted) into `into`; the number of rows."""
    query = sql.SQL("COPY (SELECT * FROM {}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(
        sql.Identifier(schema_name, table)
    )
    with connection.cursor() as cursor:
        with cursor.copy(query) as copy:
            for chunk in copy:
                into.write(chunk)
        return cursor.rowcount


def _export_write(tenant: Tenant, output: Path | BinaryIO, actor: str) -> dict:
    manifest = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "tenant": _tenant_public_rows(tenant),
        "exported_at": timezone.now().isoformat(),
        "exported_by": actor,
        "versions": _versions(),
        "migrations": _schema_migrations(tenant.schema_name),
        "tables": [],
    }
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for table in _schema_tables(tenant.schema_name):
            name = f"tables/{table}.csv"
            with archive.open(name, "w", force_zip64=True) as member:
                rows = _table_copy(tenant.schema_name, table, member)
            manifest["tables"].append({"name": table, "file": name, "rows": rows})
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, default=str))
    return manifest


@_in_public
def tenant_export(*, tenant: Tenant, output: Path | BinaryIO, actor: str) -> dict:
    """Write a ZIP of the brand's data to `output` (a path or a writable binary file) and return its manifest.

    One CSV per table of the brand's schema, streamed with COPY (never held in memory), and `manifest.json`:
    the brand's public rows (tenant, domains, branding), the time, the tables with their row counts, the
    platform's versions and the schema's migrations. All tables are read in one snapshot. Media files (logos,
    uploads) are named in the data, not included. Runs in the caller's process: for big brands, the production
    path is a Celery task writing to object storage.
    """
    if tenant.schema_name == get_public_schema_name():
        raise TenantError("The platform's own schema is not a brand's data.")
    if not schema_exists(tenant.schema_name):
        raise TenantError(f"The schema of {tenant.slug} does not exist.")
    if connection.in_atomic_block:  # the caller's transaction is the snapshot
        manifest = _export_write(tenant, output, actor)
    else:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            manifest = _export_write(tenant, output, actor)
    rows = sum(table["rows"] for table in manifest["tables"])
    _event_record(
        tenant=tenant,
        slug=tenant.slug,
        action=TenantEvent.Action.EXPORTED,
        actor=actor,
        detail={"tables": len(manifest["tables"]), "rows": rows},
    )
    logger.info("tenant exported: %s by %s (%s tables, %s rows)", tenant.slug, actor, len(manifest["tables"]), rows)
    return manifest


# --- deletion -----------------------------------------------------------------------------------------------------


@_in_public
@transaction.atomic
def tenant_delete(*, tenant: Tenant, confirm_slug: str, actor: str, reason: str = "") -> None:
    """Delete a suspended brand for good: its schema, tenant row, domains and branding, in one transaction.

    The slug must be typed again (`confirm_slug`). Export first (`tenant_export`): nothing can be restored after.
    The lifecycle events stay, naming the slug.
    """
    tenant = _brand_locked(tenant)
    if not tenant.is_suspended:
        raise TenantError(f"{tenant.slug} is not suspended: only a suspended brand can be deleted.")
    if confirm_slug.strip() != tenant.slug:
        raise TenantError(f"Type the brand's slug ({tenant.slug}) to confirm the deletion.")
    customers = list(tenant.customers.values_list("slug", flat=True))
    if customers:
        raise TenantError(f"{tenant.slug} is the reseller of {', '.join(customers)}: delete or move them first.")
    slug, schema_name = tenant.slug, tenant.schema_name
    tenant.delete(force_drop=True)  # the schema, then the row; domains and branding cascade
    _event_record(tenant=None, slug=slug, action=TenantEvent.Action.DELETED, actor=actor, reason=reason)
    logger.info("tenant deleted: %s (schema %s) by %s", slug, schema_name, actor)


# --- limits -------------------------------------------------------------------------------------------------------


def _current_brand_limit(field: str) -> tuple[Tenant, int] | None:
    """The current schema's brand and its limit `field`, locked so that concurrent creations queue; None when the
    brand has no such limit (or the current schema is no brand's)."""
    limit = Tenant.objects.filter(schema_name=connection.schema_name).values_list(field, flat=True).first()
    if limit is None:
        return None
    tenant = Tenant.objects.select_for_update().get(schema_name=connection.schema_name)
    return tenant, getattr(tenant, field)


def station_limit_check() -> None:
    """In a brand's schema, inside the transaction that creates a station: refuse when its plan's station limit is
    reached."""
    from apps.stations.models import Station

    found = _current_brand_limit("max_stations")
    if found is None:
        return
    tenant, limit = found
    count = Station.objects.count()
    if count >= limit:
        raise TenantLimitReachedError(
            f"{tenant.name}'s plan allows {limit} stations and it has {count}: the platform operator can raise the "
            "limit."
        )


def user_limit_check() -> None:
    """In a brand's schema, inside the transaction that creates a user: refuse when its user limit is reached."""
    from django.contrib.auth import get_user_model

    found = _current_brand_limit("max_users")
    if found is None:
        return
    tenant, limit = found
    count = get_user_model().objects.count()
    if count >= limit:
        raise TenantLimitReachedError(
            f"{tenant.name}'s plan allows {limit} users and it has {count}: the platform operator can raise the limit."
        )
