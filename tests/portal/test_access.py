"""Who reaches the portal: staff of this brand whose role grants the page; others are sent to log in or refused."""

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from tests.accounts.factories import UserFactory


def client_of(tenant, role=None) -> Client:
    client = Client(HTTP_HOST=tenant.domains.first().domain)
    if role is not None:
        with schema_context(tenant.schema_name):
            client.force_login(UserFactory(role=role))
    return client


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_log_in(tenant):
    response = client_of(tenant).get("/portal/")
    assert response.status_code == 302
    assert "next=/portal/" in response["Location"]


@pytest.mark.django_db
def test_a_driver_is_refused(tenant):
    assert client_of(tenant, Role.DRIVER).get("/portal/").status_code == 403


@pytest.mark.django_db
def test_staff_see_the_overview_in_their_brand(tenant):
    response = client_of(tenant, Role.READ_ONLY).get("/portal/")
    assert response.status_code == 200
    assert "Alpha Charge" in response.content.decode()
