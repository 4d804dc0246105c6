"""Faults: open ones by default, closed or all on request, filtered by severity and station."""

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.stations.models import Fault
from tests.portal.conftest import client_of
from tests.stations.factories import StationFactory


def fault_make(station, code, severity="error", closed=False):
    return Fault.objects.create(
        station=station,
        fault_class="other",
        severity=severity,
        code=code,
        opened_at=timezone.now(),
        closed_at=timezone.now() if closed else None,
        closed_by="station" if closed else "",
    )


@pytest.fixture
def faults(tenant):
    with schema_context(tenant.schema_name):
        one, two = StationFactory(identity="ALPHA-F1"), StationFactory(identity="ALPHA-F2")
        fault_make(one, "OverTemperature", severity="critical")
        fault_make(two, "ReaderFailure", severity="warning")
        fault_make(one, "GroundFailure", closed=True)


def codes(response) -> set[str]:
    return {fault.code for fault in response.context["page"]}


@pytest.mark.django_db
def test_open_faults_by_default_closed_and_all_on_request(faults, tenant):
    client = client_of(tenant, Role.TECHNICIAN)
    assert codes(client.get("/portal/faults/")) == {"OverTemperature", "ReaderFailure"}
    assert codes(client.get("/portal/faults/", {"state": "closed"})) == {"GroundFailure"}
    assert len(codes(client.get("/portal/faults/", {"state": "all"}))) == 3


@pytest.mark.django_db
def test_faults_filter_by_severity_and_station(faults, tenant):
    client = client_of(tenant, Role.TECHNICIAN)
    assert codes(client.get("/portal/faults/", {"state": "open", "severity": "critical"})) == {"OverTemperature"}
    assert codes(client.get("/portal/faults/", {"state": "all", "station": "alpha-f1"})) == {
        "OverTemperature",
        "GroundFailure",
    }
    page = client.get("/portal/faults/").content.decode()
    assert "Critical" in page  # severity in words, not by colour alone


@pytest.mark.django_db
def test_a_wrong_filter_is_refused_with_a_clear_error(faults, tenant):
    response = client_of(tenant, Role.TECHNICIAN).get("/portal/faults/", {"severity": "apocalyptic"})
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()


@pytest.mark.django_db
def test_another_brands_faults_never_show(faults, outsider):
    assert codes(client_of(outsider, Role.TECHNICIAN).get("/portal/faults/", {"state": "all"})) == set()


@pytest.mark.django_db
def test_a_role_without_the_fault_permission_is_refused(tenant, role_without):
    assert client_of(tenant, role_without("stations.view_fault")).get("/portal/faults/").status_code == 403
