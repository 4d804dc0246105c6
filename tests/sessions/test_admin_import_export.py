"""Operators and support staff export ID tokens to a spreadsheet and import them back, under the same rules as the
API: a uid in another letter case is the same token, groups are one level deep, and a bad line imports nothing."""

from datetime import UTC, datetime

import pytest
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.sessions.models import IdToken
from tests.accounts.spreadsheets import Spreadsheets, csv_of, login, preview_lines, rows_of, text_of, xlsx_or_skip
from tests.sessions.factories import IdTokenFactory

TOKENS = Spreadsheets(IdToken)
EXPIRY = datetime(2027, 1, 31, 23, 0, tzinfo=UTC)


def fleet(tenant) -> IdToken:
    """A fleet group token with two member cards, one expiring and blocked."""
    with schema_context(tenant.schema_name):
        group = IdTokenFactory(uid="FLEET-A", type=IdToken.Type.CENTRAL, label="Fleet A", allow_concurrent=True)
        IdTokenFactory(uid="CARD-1", group=group, label="=1+1 (a formula in a spreadsheet)")
        IdTokenFactory(uid="card-2", group=group, status=IdToken.Status.BLOCKED, expires_at=EXPIRY)
        return group


def snapshot(tenant) -> list[tuple]:
    with schema_context(tenant.schema_name):
        return list(
            IdToken.objects.order_by("uid").values_list(
                "uid", "type", "status", "expires_at", "group__uid", "allow_concurrent", "label"
            )
        )


def test_the_export_lists_this_brands_tokens_with_their_group(tenant, outsider):
    fleet(tenant)
    with schema_context(outsider.schema_name):
        IdTokenFactory(uid="BRAVO-CARD")
    client = login(tenant, Role.READ_ONLY)

    response = TOKENS.export(client, "csv")

    rows = {row["uid"]: row for row in rows_of(response.content)}
    assert sorted(rows) == ["CARD-1", "FLEET-A", "card-2"]
    assert rows["card-2"] == {
        "uid": "card-2",
        "type": "ISO14443",
        "status": "Blocked",
        "expires_at": "2027-01-31T23:00:00Z",
        "group": "FLEET-A",
        "group_type": "Central",
        "allow_concurrent": "false",
        "label": "",
    }
    assert rows["FLEET-A"]["allow_concurrent"] == "true" and rows["FLEET-A"]["group"] == ""
    assert rows["CARD-1"]["label"] == "'=1+1 (a formula in a spreadsheet)"  # read back without the apostrophe
    assert "BRAVO-CARD" not in response.content.decode()


@pytest.mark.parametrize("name", ["csv", "xlsx"])
def test_a_file_exported_and_imported_unchanged_changes_nothing(tenant, name):
    if name == "xlsx":
        xlsx_or_skip()
    fleet(tenant)
    client = login(tenant)
    before = snapshot(tenant)

    page = TOKENS.load(client, TOKENS.export(client, name).content, name)

    assert "Import finished: 0 new, 0 updated, 0 deleted and 3 skipped ID tokens." in text_of(page)
    assert snapshot(tenant) == before


def test_support_imports_new_cards_into_a_group_and_a_uid_in_another_case_is_the_same_token(tenant):
    group = fleet(tenant)
    client = login(tenant, Role.SUPPORT)
    content = (
        csv_of(
            {"uid": "CARD-2", "type": "iso14443", "status": "accepted", "group": "fleet-a", "expires_at": ""},
            {"uid": "NEW-CARD", "type": "", "status": "", "group": "FLEET-A", "expires_at": "2027-06-01 12:00+02:00"},
            {
                "uid": " KEY-7 ",
                "type": "KeyCode",
                "status": "Accepted",
                "group": "",
                "expires_at": "2027-06-01T10:00:00",
            },
            {"uid": "DAY-PASS", "type": "Local", "status": "Accepted", "group": "", "expires_at": "2027-06-02"},
        )
        + b",,,,\r\n,,,,\r\n"
    )  # empty lines a spreadsheet program left after the data

    preview = TOKENS.preview(client, content)
    with schema_context(tenant.schema_name):
        assert not IdToken.objects.filter(uid="NEW-CARD").exists()
    page = TOKENS.load(client, content)

    assert text_of(preview).count("New") >= 2 and "Update" in text_of(preview)
    assert "Import finished: 3 new, 1 updated" in text_of(page)
    with schema_context(tenant.schema_name):
        renamed = IdToken.objects.get(uid__iexact="card-2")
        assert (renamed.uid, renamed.status, renamed.expires_at) == ("CARD-2", "Accepted", None)
        new = IdToken.objects.get(uid="NEW-CARD")
        assert (new.type, new.status, new.group_id) == ("ISO14443", "Accepted", group.pk)
        assert new.expires_at == datetime(2027, 6, 1, 10, 0, tzinfo=UTC)
        key = IdToken.objects.get(uid="KEY-7")
        assert (key.type, key.expires_at) == ("KeyCode", datetime(2027, 6, 1, 10, 0, tzinfo=UTC))
        assert IdToken.objects.get(uid="DAY-PASS").expires_at == datetime(2027, 6, 2, tzinfo=UTC)
        assert IdToken.objects.count() == 6


def test_a_file_with_bad_lines_imports_nothing_and_names_each_lines_errors(tenant):
    fleet(tenant)
    client = login(tenant)
    before = snapshot(tenant)
    content = csv_of(
        {"uid": "GOOD-1", "group": "FLEET-A"},
        {"uid": "good-1"},
        {"uid": "BAD-GROUP", "group": "CARD-1"},
        {"uid": "NO-GROUP", "group": "NOBODY", "status": "Lost"},
        {"uid": "BAD-DATE", "expires_at": "31/01/2027", "allow_concurrent": "maybe"},
        {"uid": "", "type": "Bluetooth"},
    )

    response = TOKENS.preview(client, content)

    lines = preview_lines(response)
    assert sorted(lines) == [3, 4, 5, 6, 7]
    assert "uid: Line 2 of this file already has this uid and type." in lines[3]
    assert "group: This token is itself in a group" in lines[4]
    assert "group: No token has the uid 'NOBODY'" in lines[5]
    assert "status: 'Lost' is not one of Accepted, Blocked, Expired, Invalid." in lines[5]
    assert "expires_at: '31/01/2027' is not a date and time" in lines[6]
    assert "allow_concurrent: 'maybe': write true or false." in lines[6]
    assert "type: 'Bluetooth' is not one of" in lines[7] and "uid: This field cannot be blank." in lines[7]
    assert "Confirm import" not in response.content.decode()
    assert snapshot(tenant) == before


def test_a_group_uid_shared_by_two_types_needs_the_group_type(tenant):
    with schema_context(tenant.schema_name):
        IdTokenFactory(uid="DEPOT", type=IdToken.Type.CENTRAL)
        local = IdTokenFactory(uid="DEPOT", type=IdToken.Type.LOCAL)
    client = login(tenant)

    ambiguous = preview_lines(TOKENS.preview(client, csv_of({"uid": "CARD-9", "group": "DEPOT"})))
    TOKENS.load(client, csv_of({"uid": "CARD-9", "group": "DEPOT", "group_type": "Local"}))

    assert "Several tokens have the uid 'DEPOT': give the group's type in group_type." in ambiguous[2]
    with schema_context(tenant.schema_name):
        assert IdToken.objects.get(uid="CARD-9").group_id == local.pk


def test_nothing_is_imported_when_a_line_became_invalid_between_preview_and_confirmation(tenant):
    with schema_context(tenant.schema_name):
        IdTokenFactory(uid="NIGHT-SHIFT")
    client = login(tenant)
    preview = TOKENS.preview(client, csv_of({"uid": "FIRST"}, {"uid": "SECOND", "group": "NIGHT-SHIFT"}))
    with schema_context(tenant.schema_name):
        IdToken.objects.filter(uid="NIGHT-SHIFT").delete()  # someone removed the group meanwhile

    response = TOKENS.confirm(client, preview)

    assert "Nothing was imported" in text_of(response)
    assert "No token has the uid 'NIGHT-SHIFT'" in preview_lines(response)[3]
    with schema_context(tenant.schema_name):
        assert not IdToken.objects.filter(uid__in=["FIRST", "SECOND"]).exists()


@pytest.mark.parametrize("role", [Role.READ_ONLY, Role.TECHNICIAN, Role.FINANCE])
def test_roles_without_token_permissions_see_no_import_and_get_403(tenant, role):
    client = login(tenant, role)

    page = client.get(TOKENS.url).content.decode()

    assert 'class="export_link"' in page and 'class="import_link"' not in page
    assert TOKENS.preview(client, csv_of({"uid": "SNEAKY"})).status_code == 403
    assert client.post(f"{TOKENS.url}process_import/", {"import_file_name": "x", "format": "0"}).status_code == 403
    assert TOKENS.export(client, "csv").status_code == 200
    with schema_context(tenant.schema_name):
        assert not IdToken.objects.filter(uid="SNEAKY").exists()
