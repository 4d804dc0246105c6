"""Operators export their stations to a spreadsheet and import them back: location by name, EVSEs and connectors in
one column, a preview before anything is written, and a file with any bad line imports nothing."""

import re

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.stations.models import Connector, Evse, Location, Station
from apps.stations.resources import connector_specs, connectors_parse
from apps.stations.services import station_authenticate
from tests.accounts.spreadsheets import Spreadsheets, csv_of, login, preview_lines, rows_of, text_of, xlsx_or_skip
from tests.stations.factories import LocationFactory, StationFactory

STATIONS = Spreadsheets(Station)
NEW_PASSWORD = "a-new-password-for-cp-new"


def network(tenant) -> Station:
    """A depot with one station of two EVSEs (AC socket, DC cable) and one station without location."""
    with schema_context(tenant.schema_name):
        depot = LocationFactory(name="Depot")
        station = StationFactory(identity="CP-DEPOT-1", location=depot, vendor="ACME", model="Wallbox 22")
        Connector.objects.create(evse=Evse.objects.create(station=station, evse_id=1), connector_id=1)
        Connector.objects.create(
            evse=Evse.objects.create(station=station, evse_id=2),
            connector_id=1,
            standard=Connector.Standard.TYPE_2_COMBO,
            format=Connector.Format.CABLE,
            power_type=Connector.PowerType.DC,
            max_power_w=150000,
        )
        StationFactory(identity="CP-LOOSE", location=None, registration_status=Station.Registration.PENDING)
        return station


def snapshot(tenant) -> list[tuple]:
    with schema_context(tenant.schema_name):
        stations = [
            (s.identity, s.location_id, s.security_profile, s.registration_status, s.password_hash)
            for s in Station.objects.order_by("identity")
        ]
        connectors = list(
            Connector.objects.order_by("pk").values_list(
                "evse__station__identity", "evse__evse_id", "connector_id", "standard", "format", "power_type",
                "max_power_w",
            )
        )  # fmt: skip
        return stations + connectors


def test_the_export_lists_this_brands_stations_with_location_and_connectors_and_no_secret(tenant, outsider):
    network(tenant)
    with schema_context(outsider.schema_name):
        StationFactory(identity="CP-BRAVO")
    client = login(tenant, Role.READ_ONLY)

    response = STATIONS.export(client, "csv")

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.csv"')
    rows = rows_of(response.content)
    assert [row["identity"] for row in rows] == ["CP-DEPOT-1", "CP-LOOSE"]
    assert rows[0] == {
        "identity": "CP-DEPOT-1",
        "location": "Depot",
        "security_profile": "1",
        "registration_status": "accepted",
        "connectors": "1/1 IEC_62196_T2 SOCKET AC_3_PHASE 22000; 2/1 IEC_62196_T2_COMBO CABLE DC 150000",
        "new_password": "",
        "vendor": "ACME",
        "model": "Wallbox 22",
        "serial_number": "",
        "firmware_version": "",
    }
    assert rows[1]["location"] == "" and rows[1]["connectors"] == ""
    assert "pbkdf2" not in response.content.decode() and "CP-BRAVO" not in response.content.decode()


def test_what_a_station_reported_is_exported_as_text_never_as_a_formula(tenant):
    with schema_context(tenant.schema_name):
        StationFactory(identity="CP-EVIL", vendor='=HYPERLINK("http://evil.example","x")', model="+1", location=None)
    client = login(tenant)

    rows = rows_of(STATIONS.export(client, "csv").content)
    page = STATIONS.load(client, csv_of(*rows))

    assert (rows[0]["vendor"], rows[0]["model"]) == ('\'=HYPERLINK("http://evil.example","x")', "'+1")
    assert "1 skipped" in text_of(page)


def test_the_export_follows_the_lists_filters(tenant):
    network(tenant)
    client = login(tenant)

    rows = rows_of(STATIONS.export(client, "csv", registration_status__exact="pending").content)

    assert [row["identity"] for row in rows] == ["CP-LOOSE"]


@pytest.mark.parametrize("name", ["csv", "xlsx"])
def test_a_file_exported_and_imported_unchanged_changes_nothing(tenant, name):
    if name == "xlsx":
        xlsx_or_skip()
    network(tenant)
    client = login(tenant)
    before = snapshot(tenant)
    exported = STATIONS.export(client, name).content

    preview = STATIONS.preview(client, exported, name)
    page = STATIONS.load(client, exported, name)

    assert preview.status_code == 200 and "Confirm import" in preview.content.decode()
    assert text_of(preview).count("Skipped") == 2
    assert "Import finished: 0 new, 0 updated, 0 deleted and 2 skipped stations." in text_of(page)
    assert snapshot(tenant) == before


def test_the_preview_writes_nothing_and_the_confirmation_creates_and_updates(tenant):
    station = network(tenant)
    client = login(tenant)
    content = csv_of(
        {
            "identity": "CP-NEW",
            "location": "depot",  # names are matched in any letter case
            "security_profile": "2",
            "registration_status": "Accepted",
            "connectors": "1/1 iec_62196_t2 socket ac_3_phase 11000\n1/2 DOMESTIC_F SOCKET AC_1_PHASE 3700",
            "new_password": NEW_PASSWORD,
        },
        {
            "identity": "CP-DEPOT-1",
            "location": "",
            "security_profile": "1",
            "registration_status": "rejected",
            "connectors": "2/1 IEC_62196_T2_COMBO CABLE DC 300000; 3/1 CHADEMO CABLE DC 50000",
        },
    )

    preview = STATIONS.preview(client, content, "csv")

    page = text_of(preview)
    assert "New" in page and "Update" in page and "CP-NEW" in page
    with schema_context(tenant.schema_name):
        assert not Station.objects.filter(identity="CP-NEW").exists()
        assert Station.objects.get(pk=station.pk).registration_status == "accepted"

    STATIONS.confirm(client, preview)

    with schema_context(tenant.schema_name):
        assert LogEntry.objects.filter(object_repr="CP-NEW", action_flag=ADDITION).exists()  # the admin's history
        new = Station.objects.get(identity="CP-NEW")
        assert (new.location.name, new.security_profile, new.registration_status) == ("Depot", 2, "accepted")
        assert [spec.text() for spec in connector_specs(new)] == [
            "1/1 IEC_62196_T2 SOCKET AC_3_PHASE 11000",
            "1/2 DOMESTIC_F SOCKET AC_1_PHASE 3700",
        ]
        assert station_authenticate(
            identity="CP-NEW", password=NEW_PASSWORD, tls=True, client_cert_identity=None
        ).allowed
        station.refresh_from_db()
        assert (station.location, station.registration_status) == (None, "rejected")
        # listed connectors are updated or added; the unlisted EVSE 1 is left as it was
        assert list(
            Connector.objects.filter(evse__station=station).values_list("evse__evse_id", "connector_id", "max_power_w")
        ) == [(1, 1, 22000), (2, 1, 300000), (3, 1, 50000)]


def test_a_file_with_bad_lines_imports_nothing_and_names_each_lines_errors(tenant):
    network(tenant)
    with schema_context(tenant.schema_name):
        LocationFactory(name="Twin")
        LocationFactory(name="twin")
    client = login(tenant)
    before = snapshot(tenant)
    content = csv_of(
        {"identity": "CP-GOOD", "location": "Depot", "connectors": "1/1 IEC_62196_T2 SOCKET AC_3_PHASE 22000"},
        {"identity": "CP/BAD", "location": "Nowhere"},
        {"identity": "CP-WORSE", "registration_status": "maybe", "connectors": "1/1 TYPE_9 SOCKET AC_3_PHASE 0"},
        {"identity": "CP-TWIN", "location": "Twin", "new_password": "tiny-secret"},
        {"identity": "CP-GOOD"},
    )

    response = STATIONS.preview(client, content, "csv")

    lines = preview_lines(response)
    assert sorted(lines) == [3, 4, 5, 6]
    assert "identity: A station identity has no '/'" in lines[3]
    assert "location: No location is named 'Nowhere'" in lines[3]
    assert "registration_status: 'maybe' is not one of accepted, pending, rejected." in lines[4]
    assert "'TYPE_9' is not a standard" in lines[4] and "whole number of watts above 0" in lines[4]
    assert "Several locations are named 'Twin': give the location's id instead." in lines[5]
    assert "new_password: At least 16 characters" in lines[5]
    assert "identity: Line 2 of this file already has this identity." in lines[6]
    assert "Confirm import" not in response.content.decode()
    assert "tiny-secret" not in response.content.decode()
    assert snapshot(tenant) == before


def test_a_location_shared_by_name_is_exported_and_imported_by_id(tenant):
    with schema_context(tenant.schema_name):
        first, second = LocationFactory(name="Car park"), LocationFactory(name="Car park")
        StationFactory(identity="CP-A", location=second)
    client = login(tenant)

    rows = rows_of(STATIONS.export(client, "csv").content)
    STATIONS.load(client, csv_of({"identity": "CP-A", "location": str(first.pk)}))

    assert rows[0]["location"] == str(second.pk)
    with schema_context(tenant.schema_name):
        assert Station.objects.get(identity="CP-A").location_id == first.pk


def test_nothing_is_imported_when_a_line_became_invalid_between_preview_and_confirmation(tenant):
    with schema_context(tenant.schema_name):
        LocationFactory(name="Temporary")
    client = login(tenant)
    preview = STATIONS.preview(
        client, csv_of({"identity": "CP-FIRST", "location": ""}, {"identity": "CP-SECOND", "location": "Temporary"})
    )
    with schema_context(tenant.schema_name):
        Location.objects.filter(name="Temporary").delete()

    response = STATIONS.confirm(client, preview)

    assert response.status_code == 200
    assert "Nothing was imported" in text_of(response)
    assert "No location is named 'Temporary'" in preview_lines(response)[3]
    with schema_context(tenant.schema_name):
        assert not Station.objects.filter(identity__in=["CP-FIRST", "CP-SECOND"]).exists()


def test_an_import_on_this_brand_never_touches_another_brands_station(tenant, outsider):
    with schema_context(outsider.schema_name):
        StationFactory(identity="CP-SHARED", registration_status=Station.Registration.ACCEPTED)
    client = login(tenant)

    STATIONS.load(client, csv_of({"identity": "CP-SHARED", "registration_status": "rejected"}))

    with schema_context(tenant.schema_name):
        assert Station.objects.get(identity="CP-SHARED").registration_status == "rejected"
    with schema_context(outsider.schema_name):
        assert Station.objects.get(identity="CP-SHARED").registration_status == "accepted"


def test_a_confirmation_cannot_import_a_file_uploaded_on_another_brand(tenant, outsider):
    ours = login(tenant)
    preview = STATIONS.preview(ours, csv_of({"identity": "CP-SMUGGLED"}))
    theirs = login(outsider, host="bravo.localhost")

    response = STATIONS.confirm(theirs, preview)

    assert response.status_code == 403
    with schema_context(outsider.schema_name):
        assert not Station.objects.filter(identity="CP-SMUGGLED").exists()


def test_confirming_the_same_preview_twice_imports_once(tenant):
    client = login(tenant)
    preview = STATIONS.preview(client, csv_of({"identity": "CP-ONCE"}))
    STATIONS.confirm(client, preview)

    again = STATIONS.confirm(client, preview)

    assert again.status_code == 302 and again["Location"] == f"{STATIONS.url}import/"
    assert "The uploaded file is gone" in text_of(client.get(again["Location"]))
    with schema_context(tenant.schema_name):
        assert Station.objects.filter(identity="CP-ONCE").count() == 1


@pytest.mark.parametrize("role", [Role.READ_ONLY, Role.TECHNICIAN, Role.SUPPORT])
def test_roles_without_add_and_change_see_no_import_and_get_403(tenant, role):
    network(tenant)
    client = login(tenant, role)

    page = client.get(STATIONS.url).content.decode()

    assert 'class="export_link"' in page
    assert 'class="import_link"' not in page
    assert client.get(f"{STATIONS.url}import/").status_code == 403
    assert client.get(f"{STATIONS.url}export/").status_code == 200
    assert STATIONS.preview(client, csv_of({"identity": "CP-X"})).status_code == 403
    assert client.post(f"{STATIONS.url}process_import/", {"import_file_name": "x", "format": "0"}).status_code == 403
    assert STATIONS.export(client, "csv").status_code == 200
    with schema_context(tenant.schema_name):
        assert not Station.objects.filter(identity="CP-X").exists()


def test_an_operator_sees_both_buttons(tenant):
    page = login(tenant).get(STATIONS.url).content.decode()

    assert 'class="import_link"' in page and 'class="export_link"' in page


def test_the_connectors_column_reads_entries_in_any_case_separated_by_semicolons_or_lines():
    specs = connectors_parse(" 1/1 iec_62196_t2 socket ac_3_phase 22000 ;\n2/1 CHADEMO CABLE DC 50000\n\n")

    assert [spec.text() for spec in specs] == [
        "1/1 IEC_62196_T2 SOCKET AC_3_PHASE 22000",
        "2/1 CHADEMO CABLE DC 50000",
    ]
    assert connectors_parse("") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1/1 IEC_62196_T2 SOCKET AC_3_PHASE", "write EVSE/CONNECTOR STANDARD FORMAT POWER_TYPE MAX_POWER_W"),
        ("1-1 IEC_62196_T2 SOCKET AC_3_PHASE 22000", "write EVSE/CONNECTOR"),
        ("0/1 IEC_62196_T2 SOCKET AC_3_PHASE 22000", "numbered from 1"),
        ("1/1 IEC_62196_T2 PLUG AC_3_PHASE 22000", "'PLUG' is not a format (SOCKET, CABLE)"),
        ("1/1 IEC_62196_T2 SOCKET AC_2_PHASE 22000", "'AC_2_PHASE' is not a power type"),
        ("1/1 IEC_62196_T2 SOCKET AC_3_PHASE 22kW", "whole number of watts above 0"),
        ("1/1 IEC_62196_T2 SOCKET AC_3_PHASE 99999999999", "whole number of watts above 0"),
        ("1/1 IEC_62196_T2 SOCKET AC_3_PHASE 22000; 1/1 CHADEMO CABLE DC 50000", "connector 1/1 is listed twice"),
    ],
)
def test_the_connectors_column_refuses_what_it_cannot_read(text, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        connectors_parse(text)
