"""Tariffs: the list and a tariff's price elements."""

import pytest
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from tests.portal.conftest import client_of
from tests.tariffs.factories import TariffFactory


@pytest.fixture
def tariff(tenant):
    with schema_context(tenant.schema_name):
        return TariffFactory(code="AC-STANDARD", name="Standard AC")


@pytest.mark.django_db
def test_the_list_and_the_price_elements(tariff, tenant):
    client = client_of(tenant, Role.READ_ONLY)
    assert "Standard AC" in client.get("/portal/tariffs/").content.decode()
    response = client.get("/portal/tariffs/AC-STANDARD/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "ENERGY" in page and "0.30" in page and "21" in page


@pytest.mark.django_db
def test_another_brands_tariff_is_not_found(tariff, outsider):
    client = client_of(outsider, Role.READ_ONLY)
    assert "Standard AC" not in client.get("/portal/tariffs/").content.decode()
    assert client.get("/portal/tariffs/AC-STANDARD/").status_code == 404


@pytest.mark.django_db
def test_a_role_without_the_tariff_permission_is_refused(tariff, tenant, role_without):
    client = client_of(tenant, role_without("tariffs.view_tariff"))
    assert client.get("/portal/tariffs/").status_code == 403
    assert client.get("/portal/tariffs/AC-STANDARD/").status_code == 403
