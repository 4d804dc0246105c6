"""CDRs: the rating engine's totals in OCPI 2.2.1's shape, immutable with a content hash, corrected only by credit
CDRs; poor meter data is flagged, not fatal; another brand's CDRs are never visible."""

import json
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import schema_context

from apps.billing.exceptions import CdrError, CdrImmutableError
from apps.billing.models import Cdr
from apps.billing.ocpi import REQUIRED_FIELDS, canonical_json, content_hash
from apps.billing.selectors.cdrs import cdr_list, cdr_review_list
from apps.billing.services.cdrs import NO_TARIFF, cdr_credit, cdr_issue, cdr_reissue
from apps.tariffs.selectors import session_cost_running
from tests.billing.factories import session_with_readings
from tests.sessions.factories import IdTokenFactory


def test_cdr_totals_are_the_rating_engines(tenant_schema):
    session = session_with_readings()
    rating = session_cost_running(session)
    cdr = cdr_issue(session=session)
    document = cdr.ocpi
    assert document["total_cost"] == {"excl_vat": Decimal("4.95"), "incl_vat": Decimal("5.99")}
    assert document["total_cost"]["excl_vat"] == rating.total_excl_vat.amount
    assert document["total_cost"]["incl_vat"] == rating.total_incl_vat.amount
    assert document["total_energy"] == Decimal(11) == rating.total_energy_kwh
    assert document["total_energy_cost"] == {"excl_vat": Decimal("3.85"), "incl_vat": Decimal("4.66")}
    assert document["total_fixed_cost"] == {"excl_vat": Decimal("0.50"), "incl_vat": Decimal("0.61")}
    assert document["total_parking_cost"] == {"excl_vat": Decimal("0.60"), "incl_vat": Decimal("0.73")}
    assert document["total_time"] == Decimal("1.5")
    assert document["total_parking_time"] == Decimal("0.5")
    assert len(document["charging_periods"]) == len(rating.charging_periods)
    assert document["tariffs"][0]["id"] == rating.tariff_id
    assert (cdr.total_excl_vat, cdr.total_incl_vat, cdr.currency) == (Decimal("4.95"), Decimal("5.99"), "EUR")
    assert not cdr.needs_review


def test_cdr_json_has_the_ocpi_shape(tenant_schema):
    token = IdTokenFactory(uid="04A1B2C3D4", type="ISO14443")
    cdr = cdr_issue(session=session_with_readings(id_token=token, signed=True))
    document = json.loads(cdr.ocpi_json)  # what a partner parses: plain JSON, numbers as numbers
    for field in REQUIRED_FIELDS:
        assert field in document, field
    assert (document["country_code"], document["party_id"]) == ("NL", "EVP")
    assert len(document["id"]) <= 39
    for moment in ("start_date_time", "end_date_time", "last_updated"):
        assert datetime.fromisoformat(document[moment].replace("Z", "+00:00")).tzinfo is not None
    assert document["cdr_token"] == {
        "country_code": "NL",
        "party_id": "EVP",
        "uid": "04A1B2C3D4",
        "type": "RFID",
        "contract_id": "04A1B2C3D4",
    }
    assert document["auth_method"] in {"AUTH_REQUEST", "COMMAND", "WHITELIST"}
    location = document["cdr_location"]
    for field in ("id", "address", "city", "country", "coordinates", "evse_uid", "evse_id", "connector_id"):
        assert field in location
    assert location["country"] == "NLD"
    assert location["connector_standard"] == "IEC_62196_T2"
    assert isinstance(document["total_energy"], int | float) and isinstance(document["total_time"], int | float)
    assert all(isinstance(v, int | float) for v in document["total_cost"].values())
    for period in document["charging_periods"]:
        assert period["dimensions"] and all(isinstance(d["volume"], int | float) for d in period["dimensions"])
    signed = document["signed_data"]
    assert signed["encoding_method"] == "OCMF"
    assert [value["nature"] for value in signed["signed_values"]] == ["Start", "End"]
    assert document["session_id"] == str(cdr.session_id)


def test_an_issued_cdr_is_immutable_and_hashed(tenant_schema):
    cdr = cdr_issue(session=session_with_readings())
    assert cdr.content_hash == content_hash(cdr.ocpi_json)
    assert canonical_json(cdr.ocpi) == cdr.ocpi_json  # canonical: parsing and rendering again changes nothing
    cdr.total_incl_vat = Decimal("1.00")
    with pytest.raises(CdrImmutableError):
        cdr.save()
    with pytest.raises(CdrImmutableError):
        cdr.delete()
    with pytest.raises(IntegrityError), transaction.atomic():  # the database refuses a bypass too
        Cdr.objects.filter(pk=cdr.pk).update(total_incl_vat=Decimal("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_cdr WHERE id = %s", [cdr.pk])
    assert Cdr.objects.get(pk=cdr.pk).total_incl_vat == Decimal("5.99")


def test_issuing_twice_gives_the_same_cdr(tenant_schema):
    session = session_with_readings()
    first = cdr_issue(session=session)
    assert cdr_issue(session=session) == first
    assert Cdr.objects.filter(session=session).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Cdr.objects.create(
            session=session, revision=0, cdr_id="other", currency="EUR", start_date_time=first.start_date_time,
            end_date_time=first.end_date_time, total_energy_kwh=0, total_excl_vat=0, total_incl_vat=0,
            ocpi_json="{}", content_hash="",
        )  # fmt: skip


def test_a_credit_cdr_negates_the_original_and_references_it(tenant_schema):
    original = cdr_issue(session=session_with_readings())
    credit = cdr_credit(cdr=original, reason="Wrong tariff applied")
    document = credit.ocpi
    assert document["credit"] is True
    assert document["credit_reference_id"] == original.cdr_id
    assert document["id"] != original.cdr_id
    assert document["total_cost"] == {"excl_vat": Decimal("-4.95"), "incl_vat": Decimal("-5.99")}
    assert document["total_energy_cost"]["excl_vat"] == Decimal("-3.85")
    assert document["total_energy"] == Decimal(11)  # volumes stay: the credit undoes the same session
    assert (credit.credit, credit.credit_reference, credit.total_incl_vat) == (True, original, Decimal("-5.99"))
    assert credit.content_hash == content_hash(credit.ocpi_json)
    with pytest.raises(CdrError):
        cdr_credit(cdr=original, reason="again")
    with pytest.raises(CdrError):
        cdr_credit(cdr=credit, reason="a credit of a credit")


def test_reissue_credits_and_issues_the_next_revision(tenant_schema):
    original = cdr_issue(session=session_with_readings())
    credit, again = cdr_reissue(cdr=original, reason="Tariff fixed")
    assert credit.credit_reference == original
    assert (again.revision, again.credit, again.session_id) == (1, False, original.session_id)
    assert again.cdr_id != original.cdr_id
    assert cdr_issue(session=original.session) == again  # the CDR in force


def test_garbled_meter_data_is_flagged_for_review_not_a_crash(tenant_schema):
    # The register goes backwards, then samples disappear: the CDR is issued, flagged, with the engine's reasons.
    session = session_with_readings(readings=((0, 5000, 11000), (30, 2000, 11000), (60, 2500, 0)))
    cdr = cdr_issue(session=session)
    assert cdr.needs_review
    assert any("backwards" in reason for reason in cdr.review_reasons)
    assert "remark" in cdr.ocpi
    assert cdr in cdr_review_list()


def test_missing_meter_data_and_no_tariff(tenant_schema):
    session = session_with_readings(readings=((0, 1000, 0), (45, 1000, 0)), tariff=False)
    session.meter_samples.all().delete()
    cdr = cdr_issue(session=session)
    assert cdr.needs_review and NO_TARIFF in cdr.review_reasons
    assert cdr.ocpi["total_cost"] == {"excl_vat": 0, "incl_vat": 0}
    assert cdr.ocpi["charging_periods"]


def test_an_active_session_is_not_billed(tenant_schema):
    session = session_with_readings(status="active")
    with pytest.raises(CdrError):
        cdr_issue(session=session)


def test_another_brands_cdrs_are_never_visible(tenant, outsider):
    with schema_context(outsider.schema_name):
        theirs = cdr_issue(session=session_with_readings())
    with schema_context(tenant.schema_name):
        assert not cdr_list().filter(cdr_id=theirs.cdr_id).exists()
        assert cdr_list().count() == 0
