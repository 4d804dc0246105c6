"""HTTP requests reach the brand whose domain they name, and no other."""

import pytest
from django.test import Client

from apps.whitelabel.selectors import normalise_host, tenant_get_by_host
from tests.whitelabel.factories import TenantFactory


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("alpha.localhost", "alpha"),
        ("ALPHA.localhost:8000", "alpha"),
        ("www.alpha.localhost", "alpha"),
        ("bravo.localhost", "bravo"),
        ("localhost", "platform"),
        ("127.0.0.1:8000", "platform"),
    ],
)
def test_host_header_selects_the_brand(tenant, outsider, host, expected):
    assert tenant_get_by_host(host).slug == expected


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [("Demo.Localhost:8000", "demo.localhost"), ("[::1]:8000", "[::1]"), ("www.ev.example", "ev.example")],
)
def test_hosts_are_normalised_before_lookup(raw, normalised):
    assert normalise_host(raw) == normalised


def test_each_brand_host_serves_its_own_login_page(tenant, outsider):
    alpha = Client(HTTP_HOST="alpha.localhost").get("/admin/login/")
    bravo = Client(HTTP_HOST="bravo.localhost").get("/admin/login/")

    assert alpha.status_code == bravo.status_code == 200
    assert b"Alpha Charge" in alpha.content and b"Bravo Power" not in alpha.content
    assert b"Bravo Power" in bravo.content and b"Alpha Charge" not in bravo.content


def test_a_custom_domain_added_later_serves_its_brand_without_a_restart(tenant):
    assert Client(HTTP_HOST="charge.alpha-energy.example").get("/admin/login/").status_code == 404

    tenant.domains.create(domain="charge.alpha-energy.example", is_primary=False)

    response = Client(HTTP_HOST="charge.alpha-energy.example").get("/admin/login/")
    assert response.status_code == 200
    assert b"Alpha Charge" in response.content


@pytest.mark.parametrize("host", ["evil.example", "alpha.localhost.evil.example", "unknown.localhost", "bad host!"])
def test_an_unknown_host_gets_a_plain_404(tenant, outsider, host):
    for path in ("/", "/admin/", "/admin/login/", "/static/../admin/"):
        response = Client(HTTP_HOST=host).get(path)
        assert response.status_code == 404, (host, path)
        assert b"Alpha" not in response.content and b"Bravo" not in response.content
        assert b"No charging network is served at this address" in response.content or host == "bad host!"


def test_a_brand_created_at_run_time_is_served_at_once(db):
    brand = TenantFactory(slug="newcomer", name="Newcomer EV", domains=["newcomer.example.test"])

    response = Client(HTTP_HOST="newcomer.example.test").get("/admin/login/")

    assert brand.schema_name == "newcomer"
    assert response.status_code == 200
    assert b"Newcomer EV" in response.content
