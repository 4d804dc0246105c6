"""The audit log: privileged actions leave one entry each, naming who (a person, an API client, a person through an
application, the system), what, on which object, the values before and after, and from which address; only owners
and admins read it, each brand its own."""

import json

import pytest
from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from apps.accounts.audit import audit_record
from apps.accounts.models import AuditEntry
from apps.accounts.roles import Role
from apps.accounts.services import user_update
from apps.api.services import PREFIX_LENGTH, api_key_create, api_key_revoke
from apps.commands.models import Command
from apps.commands.services import command_create
from apps.tariffs.services import tariff_update
from apps.whitelabel.services import tenant_resume, tenant_suspend
from tests.accounts.factories import UserFactory
from tests.accounts.rbac import api_as, person_token, signed_in, staff_of
from tests.api.conftest import api_client, key_in
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffFactory

pytestmark = pytest.mark.django_db


def entries_in(tenant, **filters) -> list[AuditEntry]:
    with schema_context(tenant.schema_name):
        return list(AuditEntry.objects.filter(**filters).order_by("id"))


def test_a_role_change_is_audited_with_before_and_after_and_brings_admin_access(tenant):
    user = staff_of(tenant, Role.OPERATOR)
    with schema_context(tenant.schema_name):
        user_update(user=user, role=Role.DRIVER)
        user_update(user=user, first_name="Renamed")  # not privileged: no entry
        user.refresh_from_db()
    assert user.is_staff is False
    [entry] = entries_in(tenant, action="user.role_changed")
    assert entry.changes == {"role": ["operator", "driver"]}
    assert (entry.target_type, entry.target_id, entry.actor_kind) == ("accounts.user", str(user.pk), "system")
    [access] = entries_in(tenant, action="user.access_changed")
    assert access.changes == {"is_staff": [True, False]}


def test_deactivating_a_user_is_audited(tenant):
    user = staff_of(tenant, Role.SUPPORT)
    with schema_context(tenant.schema_name):
        user_update(user=user, is_active=False)
    [entry] = entries_in(tenant, action="user.access_changed")
    assert entry.changes == {"is_active": [True, False]}


def test_an_action_rolled_back_leaves_no_entry(tenant):
    with schema_context(tenant.schema_name):
        with pytest.raises(RuntimeError), transaction.atomic():
            audit_record(action="tariff.changed", target_type="tariffs.tariff", target_id=1)
            raise RuntimeError("the change failed")
    assert entries_in(tenant) == []


def test_a_tariff_change_records_only_the_fields_that_changed(tenant):
    with schema_context(tenant.schema_name):
        tariff = TariffFactory(name="Standard")
        tariff_update(tariff=tariff, name="Standard 2027", min_price_excl_vat=None)
    [entry] = entries_in(tenant, action="tariff.changed")
    assert entry.changes == {"name": ["Standard", "Standard 2027"]}
    assert entry.target_label.startswith("Standard 2027 (")


def test_an_api_keys_creation_and_revocation_are_audited_once(tenant):
    with schema_context(tenant.schema_name):
        api_key, plaintext = api_key_create(name="Billing sync", scopes=["cdrs:read"])
        api_key_revoke(api_key=api_key)
        api_key_revoke(api_key=api_key)
    created, revoked = entries_in(tenant, action__startswith="api_key.")
    assert (created.action, revoked.action) == ("api_key.created", "api_key.revoked")
    assert created.changes["scopes"] == ["cdrs:read"] and plaintext not in json.dumps(created.changes)
    assert created.target_label == f"Billing sync ({plaintext[:PREFIX_LENGTH]})"


def test_a_command_someone_asked_for_is_audited_and_the_platforms_own_are_not(tenant):
    technician = staff_of(tenant, Role.TECHNICIAN)
    with schema_context(tenant.schema_name):
        station = StationFactory(identity="CP-7", protocol="ocpp1.6")
        command_create(
            station=station,
            operation="reset",
            params={"kind": "soft"},
            requested_by=technician,
            source=Command.Source.TASK,
        )
        command_create(station=station, operation="reset", params={"kind": "soft"}, source=Command.Source.SYSTEM)
    [entry] = entries_in(tenant, action="command.sent")
    assert (entry.actor_user_id, entry.actor_label) == (technician.pk, technician.email)
    assert entry.changes == {"station": "CP-7", "operation": "reset", "params": {"kind": "soft"}}


def test_a_request_with_an_api_key_names_the_key_and_the_address(tenant):
    key = key_in(tenant)
    with schema_context(tenant.schema_name):
        tariff = TariffFactory(name="Standard")

    response = api_client("alpha.localhost", key).patch(
        f"/api/v1/tariffs/{tariff.pk}/", json.dumps({"name": "Night"}), content_type="application/json"
    )

    assert response.status_code == 200
    [entry] = entries_in(tenant, action="tariff.changed")
    assert (entry.actor_kind, entry.actor_client_id, entry.actor_user_id) == (
        "api_client",
        f"key:{key[:PREFIX_LENGTH]}",
        None,
    )
    assert entry.ip_address == "127.0.0.1"


def test_a_request_with_a_persons_token_names_the_person_and_the_application(tenant):
    finance = staff_of(tenant, Role.FINANCE, email="finance@alpha.test")
    with schema_context(tenant.schema_name):
        tariff = TariffFactory(name="Standard")

    response = api_as(tenant, person_token(tenant, finance)).patch(
        f"/api/v1/tariffs/{tariff.pk}/", json.dumps({"name": "Night"}), content_type="application/json"
    )

    assert response.status_code == 200
    [entry] = entries_in(tenant, action="tariff.changed")
    assert entry.actor_user_id == finance.pk and entry.actor_client_id.startswith("oauth:")
    assert entry.actor_label.startswith("finance@alpha.test via Operations app")


def test_a_tariff_changed_in_the_admin_is_audited_as_the_signed_in_user(tenant):
    operator = staff_of(tenant, Role.OPERATOR, email="ops@alpha.test")
    with schema_context(tenant.schema_name):
        tariff = TariffFactory(name="Standard")

    signed_in(tenant, operator).post(f"/admin/tariffs/tariff/{tariff.pk}/delete/", {"post": "yes"})

    [entry] = entries_in(tenant, action="tariff.deleted")
    assert (entry.actor_kind, entry.actor_label) == ("user", "ops@alpha.test")
    assert entry.target_label.startswith("Standard (") and entry.changes["name"] == ["Standard", None]


def test_suspending_and_resuming_a_brand_is_audited_in_the_public_schema(tenant):
    with schema_context(get_public_schema_name()):
        before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    tenant_suspend(tenant=tenant, actor="ops@platform.test", reason="invoices unpaid")
    tenant_resume(tenant=tenant, actor="ops@platform.test")
    with schema_context(get_public_schema_name()):
        actions = list(
            AuditEntry.objects.filter(target_label="alpha", id__gt=before)
            .order_by("id")
            .values_list("action", "actor_label")
        )
    assert actions == [("tenant.suspended", "ops@platform.test"), ("tenant.resumed", "ops@platform.test")]
    assert entries_in(tenant, action__startswith="tenant.") == []


def test_the_admin_audit_log_shows_this_brands_entries_read_only(tenant, outsider):
    with schema_context(tenant.schema_name):
        audit_record(action="tariff.changed", target_type="tariffs.tariff", target_id=1, target_label="Alpha tariff")
    with schema_context(outsider.schema_name):
        audit_record(action="tariff.changed", target_type="tariffs.tariff", target_id=1, target_label="Bravo tariff")
    admin = signed_in(tenant, staff_of(tenant, Role.ADMIN))

    page = admin.get("/admin/accounts/auditentry/?action=tariff.changed").content.decode()
    searched = admin.get("/admin/accounts/auditentry/?q=nothing-like-this").content.decode()

    assert "Alpha tariff" in page and "Bravo tariff" not in page
    assert "Alpha tariff" not in searched
    assert admin.get("/admin/accounts/auditentry/add/").status_code == 403
    [entry] = entries_in(tenant)
    assert admin.post(f"/admin/accounts/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert len(entries_in(tenant)) == 1


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.FINANCE, Role.READ_ONLY, Role.TECHNICIAN])
def test_roles_that_view_everything_still_cannot_read_the_audit_log(tenant, role):
    assert signed_in(tenant, staff_of(tenant, role)).get("/admin/accounts/auditentry/").status_code == 403


def test_a_capture_and_a_refund_are_audited_with_amounts_and_the_actor(tenant_schema, monkeypatch):
    import stripe

    from apps.billing.services.payments import payment_authorise, payment_capture, payment_refund
    from tests.billing.factories import StoredPaymentMethodFactory
    from tests.billing.fakes import FakeStripe

    monkeypatch.setattr(stripe, "default_http_client", FakeStripe())  # no network: the billing tests' fake
    finance = UserFactory(role=Role.FINANCE, email="money@alpha.test")
    method = StoredPaymentMethodFactory(provider_reference="pm_card_visa")
    held = payment_authorise(
        account=method.customer.account,
        amount=2500,
        currency="EUR",
        purpose="charging_session",
        reference="17",
        payment_method=method,
    )

    captured = payment_capture(payment=held, amount=2000, currency="EUR")
    payment_refund(payment=captured, amount=500, currency="EUR", reason="Slow charging", actor=finance)

    capture, refund = AuditEntry.objects.filter(action__startswith="payment.").order_by("id")
    assert (capture.action, capture.actor_kind, capture.changes["amount"]) == ("payment.captured", "system", 2000)
    assert capture.changes["status"] == ["authorised", "captured"]
    assert (refund.action, refund.actor_label, refund.changes["amount"]) == ("payment.refunded", finance.email, 500)
    assert refund.target_id == str(held.pk)


def test_a_confirmed_spreadsheet_import_is_audited_with_its_counts_and_a_preview_is_not(tenant):
    from apps.tariffs.models import Tariff
    from tests.accounts.spreadsheets import Spreadsheets, csv_of, login
    from tests.tariffs.factories import ENERGY_ELEMENTS

    tariffs = Spreadsheets(Tariff)
    client = login(tenant)
    content = csv_of({"code": "DC-FAST", "name": "DC fast", "currency": "EUR", "elements": json.dumps(ENERGY_ELEMENTS)})

    tariffs.preview(client, content)
    assert entries_in(tenant, action="import.confirmed") == []
    tariffs.load(client, content)

    [entry] = entries_in(tenant, action="import.confirmed")
    assert (entry.target_type, entry.changes, entry.actor_kind) == ("tariffs.tariff", {"rows": {"new": 1}}, "user")
    assert [created.target_label.split(" (")[0] for created in entries_in(tenant, action="tariff.created")] == [
        "DC fast"
    ]


def test_a_role_changed_in_the_users_admin_is_audited_as_the_admin(tenant):
    admin_user = staff_of(tenant, Role.ADMIN, email="boss@alpha.test")
    user = staff_of(tenant, Role.SUPPORT)
    form = {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": "",
        "role": Role.FINANCE,
        "is_active": "on",
        "is_staff": "on",
        "locale": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "08:00:00",
        "last_login_0": "",
        "last_login_1": "",
    }

    response = signed_in(tenant, admin_user).post(f"/admin/accounts/user/{user.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:3000]
    [entry] = entries_in(tenant, action="user.role_changed")
    assert entry.changes == {"role": ["support", "finance"]} and entry.actor_label == "boss@alpha.test"
