"""Pulling a partner's SENDER list: every page through the Link header, date_from on the first request, invalid
objects reported and not stored (not even in part), and `manage.py ocpi_pull`.

The store function is the module's (apps.roaming.modules.PULL_STORES); here a small one stands in for it, so the
pull itself is what is tested."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tenants.utils import schema_context

from apps.roaming import pull
from apps.roaming.exceptions import PartnerUnreachableError, RoamingError
from apps.roaming.models import PartnerLocation
from apps.roaming.pull import partner_pull
from tests.roaming.conftest import partner_as


def location_store(*, partner, data):
    """Stores the object, then refuses it when it has no name: a refusal must leave nothing behind."""
    PartnerLocation.objects.create(
        partner=partner, country_code="DE", party_id="BRV", object_id=data["id"], data=data, last_updated=timezone.now()
    )
    if "name" not in data:
        raise RoamingError("name: required", status_code=2001)


@pytest.fixture
def cpo(alpha, partner, monkeypatch):
    monkeypatch.setattr(pull, "resolve", lambda dotted: location_store)
    with schema_context(alpha.schema_name):
        return partner_as(partner, role="CPO", country_code="DE", party_id="BRV", endpoints_role="SENDER")


def stored_ids(alpha) -> list[str]:
    with schema_context(alpha.schema_name):
        return sorted(PartnerLocation.objects.values_list("object_id", flat=True))


def test_every_page_is_pulled_and_invalid_objects_are_reported_not_stored(alpha, cpo, partner_server):
    page_two = f"{partner_server.url}/ocpi/2.2.1/locations/page2?offset=2&limit=2"
    partner_server.answer(
        "GET",
        "/ocpi/2.2.1/locations",
        [{"id": "L1", "name": "One"}, {"id": "L2"}],
        headers={"Link": f'<{page_two}>; rel="next"', "X-Total-Count": "4"},
    )
    partner_server.answer("GET", "/ocpi/2.2.1/locations/page2", [{"id": "L3", "name": "Three"}, "not an object"])

    with schema_context(alpha.schema_name):
        result = partner_pull(partner=cpo, module="locations", date_from=parse_datetime("2026-01-01T00:00:00Z"))

    assert (result.stored, result.pages) == (2, 2)
    assert result.refused[0] == "L2: name: required" and "not an object" in result.refused[1]
    first, second = partner_server.of("GET")
    assert first.path == "/ocpi/2.2.1/locations" and first.query == {"date_from": ["2026-01-01T00:00:00Z"]}
    assert second.path == "/ocpi/2.2.1/locations/page2" and second.query == {"offset": ["2"], "limit": ["2"]}
    assert second.headers["Authorization"] == first.headers["Authorization"]
    assert stored_ids(alpha) == ["L1", "L3"]


def test_a_page_that_is_not_a_list_stops_the_pull(alpha, cpo, partner_server):
    partner_server.answer("GET", "/ocpi/2.2.1/locations", {"id": "L1"})

    with schema_context(alpha.schema_name), pytest.raises(PartnerUnreachableError):
        partner_pull(partner=cpo, module="locations")


def test_a_module_without_a_store_cannot_be_pulled(alpha, cpo, monkeypatch):
    monkeypatch.setattr(pull, "resolve", lambda dotted: None)

    with schema_context(alpha.schema_name), pytest.raises(RoamingError, match="not supported"):
        partner_pull(partner=cpo, module="tariffs")


def test_ocpi_pull_command_pulls_since_and_reports(alpha, cpo, partner_server):
    partner_server.answer("GET", "/ocpi/2.2.1/locations", [{"id": "L1", "name": "One"}, {"id": "L2"}])
    out = StringIO()

    call_command(
        "ocpi_pull", tenant="alpha", partner="Bravo Power", module="locations", since="2026-03-01T12:00:00", stdout=out
    )

    assert "Bravo Power: 1 locations stored from 1 page(s), 1 refused" in out.getvalue()
    assert "refused L2: name: required" in out.getvalue()
    [request] = partner_server.of("GET", "/ocpi/2.2.1/locations")
    assert request.query == {"date_from": ["2026-03-01T12:00:00Z"]}


@pytest.mark.parametrize(
    "options, message",
    [
        ({"partner": "Nobody"}, "No partner"),
        ({"tenant": "nowhere"}, "No brand"),
        ({"since": "last week"}, "not an ISO 8601"),
    ],
)
def test_ocpi_pull_command_errors(alpha, cpo, options, message):
    arguments = {"tenant": "alpha", "partner": "Bravo Power", "module": "locations", **options}

    with pytest.raises(CommandError, match=message):
        call_command("ocpi_pull", **arguments)


def test_ocpi_pull_command_reports_an_unreachable_partner(alpha, cpo, partner_server):
    partner_server.down = True

    with pytest.raises(CommandError, match="OCPI 3001"):
        call_command("ocpi_pull", tenant="alpha", partner="Bravo Power", module="locations")
