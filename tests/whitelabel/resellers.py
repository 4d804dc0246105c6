"""Reseller brands with customer brands, committed once per test module (cloning schemas is the slow part) and
dropped afterwards. Tests write their data inside the customers' schemas in their own rolled-back transactions."""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django_tenants.utils import schema_context

from apps.billing.models import Cdr
from apps.stations.models import Connector, Evse, Fault, StatusChange
from apps.whitelabel.models import Tenant, TenantEvent
from apps.whitelabel.services import platform_tenant_ensure, tenant_create
from tests.sessions.factories import ChargingSessionFactory
from tests.stations.factories import StationFactory


@dataclass
class Network:
    reseller: Tenant  # "Volt Resale" on volt-resale.localhost, customers north (EUR) and south (GBP)
    north: Tenant
    south: Tenant
    rival: Tenant  # another reseller, with its customer rival_customer
    rival_customer: Tenant


@contextmanager
def reseller_network(prefix: str):
    """Two resellers and three customer brands, committed; everything dropped on exit."""
    platform_tenant_ensure()
    created = []

    def brand(slug, name, **kwargs):
        tenant = tenant_create(
            slug=f"{prefix}-{slug}", name=name, domains=[f"{prefix}-{slug}.localhost"], actor="test", **kwargs
        )
        created.append(tenant)
        return tenant

    try:
        reseller = brand("volt", "Volt Resale", kind=Tenant.Kind.RESELLER, timezone="Europe/Amsterdam")
        north = brand("north", "North Charging", reseller=reseller, currency="EUR")
        south = brand("south", "South Charging", reseller=reseller, currency="GBP")
        rival = brand("rival", "Rival Resale", kind=Tenant.Kind.RESELLER)
        rival_customer = brand("rivalc", "Rival Customer", reseller=rival)
        yield Network(reseller, north, south, rival, rival_customer)
    finally:
        # Brands a test made and committed first (they point at the resellers), then the network's.
        for tenant in Tenant.objects.filter(slug__startswith=f"{prefix}-").exclude(pk__in=[t.pk for t in created]):
            tenant.delete(force_drop=True)
        for tenant in reversed(created):
            Tenant.objects.get(pk=tenant.pk).delete(force_drop=True)
        TenantEvent.objects.filter(tenant_slug__startswith=f"{prefix}-").delete()


def charge(
    customer: Tenant,
    *,
    started_at: datetime,
    energy_wh: int,
    total: str | None = None,
    currency: str = "EUR",
    station=None,
    credit_of: Cdr | None = None,
    **session_fields,
):
    """A completed session in `customer`'s schema and, with `total`, its CDR (incl. VAT) in `currency`."""
    with schema_context(customer.schema_name):
        session = ChargingSessionFactory(
            station=station or StationFactory(),
            status="completed",
            started_at=started_at,
            stopped_at=started_at + timedelta(hours=1),
            energy_wh=Decimal(energy_wh),
            **session_fields,
        )
        if total is not None:
            Cdr.objects.create(
                session=session,
                cdr_id=f"{customer.schema_name}-{session.pk}-{'CR' if credit_of else '0'}",
                credit=credit_of is not None,
                credit_reference=credit_of,
                currency=currency,
                start_date_time=session.started_at,
                end_date_time=session.stopped_at,
                total_energy_kwh=Decimal(energy_wh) / 1000,
                total_excl_vat=Decimal(total),
                total_incl_vat=Decimal(total),
                ocpi_json="{}",
                content_hash="0" * 64,
            )
        return session


def connector_history(customer: Tenant, station, changes: list[tuple[datetime, str]], *, evse_id=1, connector_id=1):
    """Status reports of one connector of `station` (created with its EVSE and connector)."""
    with schema_context(customer.schema_name):
        evse, _ = Evse.objects.get_or_create(station=station, evse_id=evse_id)
        Connector.objects.get_or_create(evse=evse, connector_id=connector_id)
        for at, status in changes:
            StatusChange.objects.create(
                station=station, evse_id=evse_id, connector_id=connector_id, status=status, reported_at=at
            )


def fault_open(customer: Tenant, station, *, closed: bool = False):
    with schema_context(customer.schema_name):
        return Fault.objects.create(
            station=station,
            fault_class=Fault.FaultClass.CONNECTOR,
            severity=Fault.Severity.ERROR,
            code="ConnectorLockFailure",
            opened_at=timezone.now() - timedelta(hours=2),
            closed_at=timezone.now() if closed else None,
        )
