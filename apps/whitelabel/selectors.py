"""Reads of tenants and domains."""

from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name

from apps.whitelabel.models import Domain, Tenant


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
