"""QR stickers: an A4 PDF with a sticker per EVSE whose QR code opens that EVSE in the driver app; printed from the
admin, the portal and the API, each only for the stations the person may see."""

import re

from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.groups.services import staff_scope_set
from apps.stations.models import Connector, Evse
from apps.stations.selectors import evse_deep_link
from apps.stations.stickers import STICKERS_PER_PAGE, qr_matrix, stickers_pdf
from apps.whitelabel.models import Branding
from tests.accounts.rbac import api_as, person_token, signed_in, staff_of
from tests.api.conftest import api_client, key_in
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import TariffAssignmentFactory, TariffFactory

HOST = "alpha.localhost"
QR_BLOCK = re.compile(rb"q\n\S+ 0 0 -\S+ \S+ \S+ cm\n0 0 0 rg\n((?:n \d+ \d+ \d+ 1 re f\*\n)+)Q")
RUN = re.compile(rb"n (\d+) (\d+) (\d+) 1 re f\*")


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


def drawn_qr_codes(pdf: bytes, size: int) -> list[list[list[bool]]]:
    """The QR codes drawn in the PDF, in order, read back from their rectangles as module matrices."""
    codes = []
    for block in QR_BLOCK.findall(pdf):
        matrix = [[False] * size for _ in range(size)]
        for column, row, length in RUN.findall(block):
            for offset in range(int(length)):
                matrix[int(row)][int(column) + offset] = True
        codes.append(matrix)
    return codes


def station_with_evses(identity: str, count: int, location=None):
    station = StationFactory(identity=identity, **({"location": location} if location else {}))
    for number in range(1, count + 1):
        evse = Evse.objects.create(station=station, evse_id=number)
        Connector.objects.create(evse=evse, connector_id=1, status="Available")
    return station


def test_a_sheet_has_a_sticker_per_evse_whose_qr_opens_it_in_the_app(tenant_schema, settings):
    settings.TENANT_SITE_URL = "https://{domain}"
    station = station_with_evses("ALPHA-16-01", STICKERS_PER_PAGE + 2)
    evses = list(Evse.objects.filter(station=station).order_by("evse_id"))

    pdf = stickers_pdf(evses, tenant_schema)

    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert page_count(pdf) == 2
    links = [evse_deep_link(evse, tenant_schema) for evse in evses]
    assert links[0] == "https://alpha.localhost/app/e/ALPHA%2AALPHA-16-01%2A1"
    size = len(qr_matrix(links[0]))
    drawn = drawn_qr_codes(pdf, size)
    assert len(drawn) == len(evses)
    assert drawn == [qr_matrix(link) for link in links]
    assert drawn[0] != qr_matrix(links[1])  # a sticker carries its own EVSE, not its neighbour's
    for evse in evses:
        assert f"(ALPHA*ALPHA-16-01*{evse.evse_id})".encode() in pdf
    assert pdf.count(b"(Scan to charge)") == len(evses)


def test_a_sticker_has_the_brands_name_and_colour_and_the_price(tenant_schema):
    Branding.objects.filter(tenant=tenant_schema).update(display_name="Alpha Laden", primary_colour="#ff0000")
    station = station_with_evses("ALPHA-2", 1, location=LocationFactory())
    tariff = TariffFactory(elements=[{"price_components": [{"type": "ENERGY", "price": "0.39", "step_size": 1}]}])
    TariffAssignmentFactory(location=station.location, tariff=tariff)

    pdf = stickers_pdf(Evse.objects.filter(station=station), tenant_schema)

    assert b"(Alpha Laden)" in pdf
    assert b"1 0 0 rg" in pdf  # the brand's red band
    assert b"0.39 per kWh." in pdf


def test_no_evses_still_gives_a_valid_one_page_pdf(tenant_schema):
    pdf = stickers_pdf([], tenant_schema)

    assert pdf.startswith(b"%PDF-") and page_count(pdf) == 1
    assert b"No EVSEs to print." in pdf


def test_the_api_prints_a_stations_stickers_with_stations_read(tenant):
    with schema_context(tenant.schema_name):
        station = station_with_evses("ALPHA-3", 3)

    response = api_client(HOST, key_in(tenant, scopes=["stations:read"])).get(
        f"/api/v1/stations/{station.pk}/stickers.pdf"
    )

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert page_count(response.content) == 1 and response.content.count(b"(Scan to charge)") == 3
    without = api_client(HOST, key_in(tenant, scopes=["locations:read"])).get(
        f"/api/v1/stations/{station.pk}/stickers.pdf"
    )
    assert without.status_code == 403 and without.json()["error"]["code"] == "scope_missing"
    missing = api_client(HOST, key_in(tenant, scopes=["stations:read"])).get("/api/v1/stations/999999/stickers.pdf")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_another_brands_station_has_no_stickers_here(tenant, outsider):
    with schema_context(outsider.schema_name):
        station = station_with_evses("BRAVO-1", 1)

    response = api_client(HOST, key_in(tenant, scopes=["stations:read"])).get(
        f"/api/v1/stations/{station.pk}/stickers.pdf"
    )

    assert response.status_code == 404


def scoped_technician(tenant):
    """A technician limited to site A, and the stations of sites A and B."""
    with schema_context(tenant.schema_name):
        site_a, site_b = LocationFactory(name="Site A"), LocationFactory(name="Site B")
        mine = station_with_evses("CP-A1", 2, location=site_a)
        theirs = station_with_evses("CP-B1", 1, location=site_b)
    user = staff_of(tenant, Role.TECHNICIAN)
    with schema_context(tenant.schema_name):
        staff_scope_set(user=user, locations=[site_a])
    return user, mine, theirs, site_a, site_b


def test_a_scoped_technician_prints_only_their_stations_through_the_api(tenant):
    user, mine, theirs, _, _ = scoped_technician(tenant)
    client = api_as(tenant, person_token(tenant, user, scopes=["stations:read"]))

    assert client.get(f"/api/v1/stations/{mine.pk}/stickers.pdf").status_code == 200
    assert client.get(f"/api/v1/stations/{theirs.pk}/stickers.pdf").status_code == 404


def test_a_scoped_technician_prints_only_their_stations_in_the_portal(tenant):
    user, mine, theirs, _, _ = scoped_technician(tenant)
    portal = signed_in(tenant, user)

    page = portal.get(f"/portal/stations/{mine.pk}/").content.decode()
    own = portal.get(f"/portal/stations/{mine.pk}/stickers.pdf")
    other = portal.get(f"/portal/stations/{theirs.pk}/stickers.pdf")

    assert f'href="/portal/stations/{mine.pk}/stickers.pdf"' in page and "QR stickers (PDF)" in page
    assert own.status_code == 200 and own["Content-Type"] == "application/pdf"
    assert own.content.count(b"(Scan to charge)") == 2 and b"CP-A1" in own.content
    assert other.status_code == 404


def test_the_admin_actions_print_the_selected_stations_and_locations_within_scope(tenant):
    user, mine, theirs, site_a, site_b = scoped_technician(tenant)
    admin = signed_in(tenant, user)

    stations = admin.post(
        "/admin/stations/station/", {"action": "print_stickers", "_selected_action": [mine.pk, theirs.pk]}
    )
    locations = admin.post(
        "/admin/stations/location/", {"action": "print_stickers", "_selected_action": [site_a.pk, site_b.pk]}
    )

    for response in (stations, locations):
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.count(b"(Scan to charge)") == 2
        assert b"CP-A1" in response.content and b"CP-B1" not in response.content
