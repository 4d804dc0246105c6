"""A reseller's customer brands: creating, suspending and resuming them, and the figures aggregated across them."""

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context

from apps.accounts.models import Invitation, User
from apps.accounts.roles import Role
from apps.whitelabel.customers import customer_create, customer_resume, customer_suspend
from apps.whitelabel.dashboards import (
    Period,
    PeriodError,
    customer_days,
    customer_recent_sessions,
    period_of,
    reseller_dashboard,
)
from apps.whitelabel.exceptions import CustomerNotFoundError, NotAResellerError, TenantError
from apps.whitelabel.models import Branding, Tenant, TenantEvent
from tests.billing.factories import PaymentCustomerFactory
from tests.sessions.factories import IdTokenFactory
from tests.stations.factories import StationFactory
from tests.whitelabel.resellers import charge, connector_history, fault_open, reseller_network

AMS = ZoneInfo("Europe/Amsterdam")
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30), "Europe/Amsterdam")


def at(day: int, hour: int = 12, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=AMS)


@pytest.fixture(scope="module")
def network(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), reseller_network("wlc") as network:
        yield network


def figures_of(dashboard, customer):
    return next(row.figures for row in dashboard.customers if row.customer.pk == customer.pk)


# --- creating -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reseller_creates_an_operator_brand_it_manages_on_a_platform_subdomain(
    network, mailoutbox, django_capture_on_commit_callbacks
):
    Branding.objects.filter(tenant=network.reseller).update(
        primary_colour="#123456", support_email="help@volt.example", terms_url="https://volt.example/terms"
    )
    network.reseller.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        customer, invitation = customer_create(
            reseller=network.reseller,
            name="East Charging",
            slug="wlc-east",
            owner_email="Owner@East.example",
            actor="t",
        )
    customer.refresh_from_db()
    assert customer.kind == Tenant.Kind.OPERATOR
    assert customer.reseller_id == network.reseller.pk
    assert [d.domain for d in customer.domains.all()] == ["wlc-east.localhost"]
    assert (customer.timezone, customer.currency) == ("Europe/Amsterdam", "EUR")  # the reseller's
    branding = customer.branding
    assert branding.display_name == "East Charging"
    assert (branding.primary_colour, branding.support_email) == ("#123456", "help@volt.example")
    assert branding.terms_url == "https://volt.example/terms"
    with schema_context(customer.schema_name):
        # Nobody has an account, nor a password, until the owner accepts the emailed invitation.
        assert not User.objects.exists()
        stored = Invitation.objects.get()
        assert (stored.email, stored.role, stored.is_pending) == ("owner@east.example", Role.OWNER, True)
    assert invitation.pk == stored.pk
    [email] = mailoutbox
    assert email.to == ["owner@east.example"]
    assert "East Charging" in email.subject + email.body
    assert re.search(r"https?://wlc-east\.localhost(:\d+)?/accounts/invitations/\S+", email.body)
    assert TenantEvent.objects.filter(tenant=customer, action="created").exists()


@pytest.mark.django_db
def test_creating_a_customer_from_the_resellers_schema_stays_in_that_schema(network):
    with schema_context(network.reseller.schema_name):
        customer_create(reseller=network.reseller, name="East", slug="wlc-east", owner_email="o@e.example", actor="t")
        assert connection.schema_name == network.reseller.schema_name


@pytest.mark.django_db
def test_an_operator_brand_cannot_create_customers(network, tenant):
    with pytest.raises(NotAResellerError):
        customer_create(reseller=tenant, name="East", slug="wlc-east", owner_email="o@e.example", actor="t")
    with pytest.raises(NotAResellerError):
        customer_create(reseller=network.north, name="East", slug="wlc-east", owner_email="o@e.example", actor="t")
    assert not Tenant.objects.filter(slug="wlc-east").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"slug": "wlc-north"}, "slug"),  # taken
        ({"slug": "Not A Slug"}, "slug"),
        ({"name": "  "}, "name"),
        ({"owner_email": "not-an-email"}, "owner_email"),
        ({"currency": "euro"}, "currency"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_bad_input_names_the_field_and_creates_nothing(network, fields, field):
    arguments = {"name": "East", "slug": "wlc-east", "owner_email": "o@e.example", **fields}
    brands = Tenant.objects.count()
    with pytest.raises(ValidationError) as error:
        customer_create(reseller=network.reseller, actor="t", **arguments)
    assert field in error.value.message_dict
    assert Tenant.objects.count() == brands


@pytest.mark.django_db
def test_a_customers_limits_stay_within_the_resellers_plan(network):
    Tenant.objects.filter(pk=network.reseller.pk).update(max_stations=20)
    reseller = Tenant.objects.get(pk=network.reseller.pk)
    with pytest.raises(ValidationError) as error:
        customer_create(
            reseller=reseller, name="E", slug="wlc-east", owner_email="o@e.example", max_stations=21, actor="t"
        )
    assert "20" in error.value.message_dict["max_stations"][0]
    unlimited_asked, _ = customer_create(
        reseller=reseller, name="E", slug="wlc-east", owner_email="o@e.example", actor="t"
    )
    assert unlimited_asked.max_stations == 20


# --- suspending ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reseller_suspends_and_resumes_its_own_customer(network):
    suspended = customer_suspend(reseller=network.reseller, customer=network.north, actor="m@v", reason="unpaid")
    assert suspended.is_suspended and suspended.suspension_reason == "unpaid"
    resumed = customer_resume(reseller=network.reseller, customer=network.north, actor="m@v")
    assert not resumed.is_suspended
    actions = list(TenantEvent.objects.filter(tenant=network.north).values_list("action", flat=True))
    assert actions[:2] == ["resumed", "suspended"]


@pytest.mark.django_db
def test_another_resellers_customer_cannot_be_suspended(network):
    with pytest.raises(CustomerNotFoundError):
        customer_suspend(reseller=network.reseller, customer=network.rival_customer, actor="m", reason="x")
    with pytest.raises(NotAResellerError):
        customer_suspend(reseller=network.north, customer=network.south, actor="m", reason="x")
    assert not Tenant.objects.get(pk=network.rival_customer.pk).is_suspended


@pytest.mark.django_db
def test_suspending_needs_a_reason(network):
    with pytest.raises(TenantError):
        customer_suspend(reseller=network.reseller, customer=network.north, actor="m", reason=" ")
    assert not Tenant.objects.get(pk=network.north.pk).is_suspended


# --- aggregates ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_figures_add_up_per_customer_and_in_total_with_currencies_apart(network):
    charge(network.north, started_at=at(3), energy_wh=10_500, total="7.35", currency="EUR")
    original = charge(network.north, started_at=at(20), energy_wh=4_000, total="2.80", currency="EUR")
    with schema_context(network.north.schema_name):
        credit_of = original.cdrs.get()
    charge(network.north, started_at=at(21), energy_wh=0, total="-2.80", currency="EUR", credit_of=credit_of)
    charge(network.north, started_at=at(15, month=10), energy_wh=99_000, total="99.00")  # before the period
    charge(network.south, started_at=at(5), energy_wh=20_000, total="8.00", currency="GBP")
    charge(network.south, started_at=at(6), energy_wh=1_250)  # no CDR yet
    charge(network.rival_customer, started_at=at(5), energy_wh=50_000, total="40.00")  # another reseller's

    dashboard = reseller_dashboard(reseller=network.reseller, period=NOVEMBER)

    assert [row.customer.slug for row in dashboard.customers] == ["wlc-north", "wlc-south"]
    north, south = figures_of(dashboard, network.north), figures_of(dashboard, network.south)
    assert (north.sessions, north.energy_kwh, north.revenue) == (3, Decimal("14.500"), {"EUR": Decimal("7.35")})
    assert (south.sessions, south.energy_kwh, south.revenue) == (2, Decimal("21.250"), {"GBP": Decimal("8.00")})
    total = dashboard.total
    assert (total.sessions, total.energy_kwh) == (5, Decimal("35.750"))
    assert total.revenue == {"EUR": Decimal("7.35"), "GBP": Decimal("8.00")}  # never one sum of two currencies
    assert total.stations == north.stations + south.stations == 6


@pytest.mark.django_db
def test_another_reseller_sees_only_its_own_customers(network):
    charge(network.north, started_at=at(3), energy_wh=1_000, total="1.00")
    dashboard = reseller_dashboard(reseller=network.rival, period=NOVEMBER)
    assert [row.customer.pk for row in dashboard.customers] == [network.rival_customer.pk]
    assert dashboard.total.sessions == 0 and dashboard.total.revenue == {}


@pytest.mark.django_db
def test_an_operator_has_no_customers_to_aggregate(network, tenant):
    assert reseller_dashboard(reseller=tenant, period=NOVEMBER).customers == []


@pytest.mark.django_db
def test_uptime_is_the_share_of_known_connector_time_not_faulted_or_unavailable(network):
    with schema_context(network.north.schema_name):
        north_station = StationFactory()
    with schema_context(network.south.schema_name):
        south_station = StationFactory()
    # Available since October; faulted for two days in November.
    connector_history(
        network.north,
        north_station,
        [(at(20, 0, month=10), "Available"), (at(11, 0), "Faulted"), (at(13, 0), "Available")],
    )
    # Known from 16 November only; charging is up time too.
    connector_history(network.south, south_station, [(at(16, 0), "Available"), (at(20, 0), "Charging")])

    dashboard = reseller_dashboard(reseller=network.reseller, period=NOVEMBER)

    assert figures_of(dashboard, network.north).uptime_percent == Decimal("93.33")  # 28 of 30 days
    assert figures_of(dashboard, network.south).uptime_percent == Decimal("100.00")
    assert dashboard.total.uptime_percent == Decimal("95.56")  # 43 of 45 connector-days
    assert figures_of(dashboard, network.north).down_seconds == 2 * 86400


@pytest.mark.django_db
def test_uptime_is_unknown_without_status_reports(network):
    dashboard = reseller_dashboard(reseller=network.reseller, period=NOVEMBER)
    assert figures_of(dashboard, network.north).uptime_percent is None


@pytest.mark.django_db
def test_open_faults_count_the_faults_open_now(network):
    with schema_context(network.south.schema_name):
        station = StationFactory()
    fault_open(network.south, station)
    fault_open(network.south, station, closed=True)
    dashboard = reseller_dashboard(reseller=network.reseller, period=NOVEMBER)
    assert figures_of(dashboard, network.south).open_faults == 1
    assert dashboard.total.open_faults == 1


@pytest.mark.django_db
def test_fifty_customers_cost_one_query(network, django_assert_num_queries):
    from apps.whitelabel.dashboards import figures_of as figures

    customers = [network.north, network.south] * 25
    figures(customers[:1], NOVEMBER)  # the connection sets its search path once, not per dashboard
    with django_assert_num_queries(1):
        assert len(figures(customers, NOVEMBER)) == 2


@pytest.mark.django_db
def test_a_customers_days_in_the_resellers_time_zone(network):
    charge(network.north, started_at=at(2, 23, month=11), energy_wh=3_000, total="2.10")  # 23:00 local, 22:00 UTC
    charge(network.north, started_at=at(3, 9), energy_wh=1_000, total="0.70")
    first_days = Period(date(2026, 11, 1), date(2026, 11, 4), "Europe/Amsterdam")
    days = customer_days(customer=network.north, period=first_days)
    assert [(d.day.day, d.sessions, d.energy_kwh) for d in days] == [
        (1, 0, Decimal("0.000")),
        (2, 1, Decimal("3.000")),
        (3, 1, Decimal("1.000")),
        (4, 0, Decimal("0.000")),
    ]
    # The CDR counts on the day its session ended: 00:00 on the 3rd for the first.
    assert [d.revenue for d in days] == [{}, {}, {"EUR": Decimal("2.80")}, {}]


# --- personal data ------------------------------------------------------------------------------------------------


def _paid_session(customer):
    with schema_context(customer.schema_name):
        token = IdTokenFactory(uid="04A1B2C3D4")
        payer = PaymentCustomerFactory(name="Jane Doe", email="jane@example.com")
        payer.id_tokens.create(id_token=token)
    return charge(customer, started_at=at(4), energy_wh=2_000, id_token=token, id_token_uid=token.uid)


@pytest.mark.django_db
def test_recent_sessions_mask_drivers_without_the_personal_data_permission(network):
    _paid_session(network.north)
    [row] = customer_recent_sessions(customer=network.north, reveal_personal_data=False)
    assert (row.driver_name, row.driver_email, row.token_uid) == ("J••• D•••", "j•••@e•••.com", "•••C3D4")
    assert row.energy_kwh == Decimal("2.000")


@pytest.mark.django_db
def test_recent_sessions_show_drivers_with_the_personal_data_permission(network):
    _paid_session(network.north)
    [row] = customer_recent_sessions(customer=network.north, reveal_personal_data=True)
    assert (row.driver_name, row.driver_email, row.token_uid) == ("Jane Doe", "jane@example.com", "04A1B2C3D4")


# --- periods ------------------------------------------------------------------------------------------------------


def test_periods_from_presets_and_days():
    period = period_of(first_day=date(2026, 2, 1), last_day=date(2026, 2, 28), zone="Europe/Amsterdam")
    assert period.days == 28 and period.start == datetime(2026, 2, 1, tzinfo=AMS)
    assert period_of(preset="7d").days == 7
    for bad in ({"preset": "forever"}, {"first_day": date(2026, 2, 2), "last_day": date(2026, 2, 1)}):
        with pytest.raises(PeriodError):
            period_of(**bad)
    with pytest.raises(PeriodError):
        period_of(first_day=date(2024, 1, 1), last_day=date(2026, 1, 1))
