"""The driver app's sessions at other networks' stations (apps/api/driver_roaming.py): a driver reads only the
sessions the CPOs reported for the driver's own tokens, live and then with the receipt of the CPO's CDR."""

from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.api.models import Scope
from apps.billing.services.invoices import invoice_for_cdr_document
from apps.roaming.models import PartnerCdr, PartnerLocation, PartnerSession
from tests.accounts.factories import DriverFactory
from tests.accounts.rbac import api_as, person_token
from tests.roaming.factories import PartnerFactory
from tests.roaming.modules.test_cdrs import their_cdr
from tests.sessions.factories import IdTokenFactory

ROAMING = "/api/v1/me/roaming-sessions/"
STARTED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def their_session(partner, uid: str, object_id: str, **fields) -> PartnerSession:
    """A session CPO DE*BRV reported at its location LOC-1 for the token `uid`."""
    data = {"id": object_id, "location_id": "LOC-1", "total_cost": {"excl_vat": 2.56, "incl_vat": 3.1}}
    return PartnerSession.objects.create(
        partner=partner,
        country_code="DE",
        party_id="BRV",
        object_id=object_id,
        data=data,
        last_updated=timezone.now(),
        token_uid=uid,
        start_date_time=STARTED,
        **{"status": "ACTIVE", "kwh": Decimal("7.5"), "currency": "EUR", **fields},
    )


def their_billed_cdr(partner, uid: str, session_id: str) -> PartnerCdr:
    """The CDR CPO DE*BRV sent for its session `session_id`, billed to our driver as a receipt (no customer)."""
    cdr = their_cdr(session_id=session_id)
    return PartnerCdr.objects.create(
        partner=partner,
        country_code="DE",
        party_id="BRV",
        object_id=cdr["id"],
        data=cdr,
        session_id=session_id,
        currency="EUR",
        total_cost_excl_vat=Decimal("4.35"),
        total_energy=Decimal(11),
        start_date_time=STARTED,
        end_date_time=STARTED,
        last_updated=timezone.now(),
        token_uid=uid,
        invoice=invoice_for_cdr_document(document=cdr, customer=None, token_uid=uid),
    )


def test_a_driver_reads_their_sessions_at_other_networks_and_their_receipts(tenant):
    with schema_context(tenant.schema_name):
        driver = DriverFactory()
        IdTokenFactory(uid="ALP-1", owner=driver)
        partner = PartnerFactory(name="Bravo Power")
        PartnerLocation.objects.create(
            partner=partner,
            country_code="DE",
            party_id="BRV",
            object_id="LOC-1",
            data={"id": "LOC-1", "name": "Hauptbahnhof", "city": "Berlin"},
            last_updated=timezone.now(),
        )
        running = their_session(partner, "ALP-1", "BRV-S-2")
        ended = their_session(partner, "ALP-1", "BRV-S-1", status="COMPLETED", end_date_time=STARTED)
        someone_elses = their_session(partner, "OTHER-9", "BRV-S-3")
    client = api_as(tenant, person_token(tenant, driver, [Scope.ME_READ]))

    listed = client.get(ROAMING).json()["results"]

    assert [s["id"] for s in listed] == [ended.pk, running.pk]  # latest first; not someone else's
    by_id = {s["id"]: s for s in listed}
    assert by_id[running.pk] == {
        "id": running.pk,
        "status": "active",
        "started_at": "2026-03-02T09:00:00Z",
        "ended_at": None,
        "energy_kwh": "7.500",
        "cost": {"currency": "EUR", "amount_incl_vat": "3.10"},
        "location": {"name": "Hauptbahnhof", "city": "Berlin", "operator": "DE*BRV", "network": "Bravo Power"},
        "receipt_url": None,
    }
    receipt_path = f"{ROAMING}{ended.pk}/receipt.pdf"
    refused = client.get(receipt_path)
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "receipt_not_ready")

    with schema_context(tenant.schema_name):  # the CPO's CDR came and was billed
        their_billed_cdr(partner, "ALP-1", "BRV-S-1")
    billed = {s["id"]: s for s in client.get(ROAMING).json()["results"]}[ended.pk]
    assert billed["status"] == "completed" and billed["receipt_url"] == f"http://alpha.localhost{receipt_path}"
    assert billed["cost"] == {"currency": "EUR", "amount_incl_vat": "5.26"}  # the receipt's, not the last report
    pdf = client.get(receipt_path)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get(f"{ROAMING}{someone_elses.pk}/receipt.pdf").status_code == 404
    assert client.get(ROAMING, HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401


def test_a_page_costs_the_same_queries_whatever_its_length(tenant):
    with schema_context(tenant.schema_name):
        driver = DriverFactory()
        IdTokenFactory(uid="ALP-1", owner=driver)
        partner = PartnerFactory(name="Bravo Power")
        their_session(partner, "ALP-1", "BRV-S-1")
    client = api_as(tenant, person_token(tenant, driver, [Scope.ME_READ]))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(ROAMING).status_code == 200
        return len(captured)

    one = queries()
    with schema_context(tenant.schema_name):
        for number in range(2, 12):
            their_session(partner, "ALP-1", f"BRV-S-{number}")
    assert queries() == one
