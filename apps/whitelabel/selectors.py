"""Reads of tenants and domains."""

from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name
from psycopg import sql

from apps.whitelabel.models import Domain, Tenant, TenantEvent


def normalise_host(host: str) -> str:
    """A Host header as stored in the domains table: lowercase, no port, no leading www."""
    host = host.strip().lower()
    if host.startswith("["):  # IPv6 literal: [::1]:8000
        host = host[: host.find("]") + 1]
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return host.removeprefix("www.")


def tenant_get_by_host(host: str) -> Tenant | None:
    domain = Domain.objects.select_related("tenant").filter(domain=normalise_host(host)).first()
    return domain.tenant if domain else None


def tenant_get_by_slug(slug: str) -> Tenant | None:
    return Tenant.objects.exclude(schema_name=get_public_schema_name()).filter(slug=slug).first()


def tenant_list() -> QuerySet[Tenant]:
    """Every brand, without the platform's own public tenant."""
    return Tenant.objects.exclude(schema_name=get_public_schema_name()).select_related("branding", "reseller")


@dataclass(frozen=True)
class TenantUsage:
    stations: int
    users: int


def tenant_usage(tenant: Tenant) -> TenantUsage:
    """How many stations and users the brand has, counted in its schema in one query."""
    from django.contrib.auth import get_user_model

    from apps.stations.models import Station

    query = sql.SQL("SELECT (SELECT count(*) FROM {}), (SELECT count(*) FROM {})").format(
        sql.Identifier(tenant.schema_name, Station._meta.db_table),
        sql.Identifier(tenant.schema_name, get_user_model()._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        stations, users = cursor.fetchone()
    return TenantUsage(stations=stations, users=users)


def tenant_event_list(tenant: Tenant) -> QuerySet[TenantEvent]:
    return TenantEvent.objects.filter(tenant=tenant)
