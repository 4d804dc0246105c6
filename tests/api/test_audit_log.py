"""GET /api/v1/audit-log/: this brand's privileged actions, newest first, filtered by action, actor and time; the
scope audit:read, and for a person's token a role that reads the audit log (owner, admin)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.audit import Actor, audit_record
from apps.accounts.models import AuditEntry
from apps.accounts.roles import Role
from apps.api.models import Scope
from tests.accounts.rbac import api_as, person_token, staff_of
from tests.api.conftest import api_client, key_in

pytestmark = pytest.mark.django_db
URL = "/api/v1/audit-log/"


def log_in(tenant) -> dict[str, AuditEntry]:
    """Three entries an hour apart: a tariff change by user 7, a command by an API key, a brand-wide system one."""
    now = timezone.now()
    with schema_context(tenant.schema_name):
        AuditEntry.objects.all().delete()  # the API key the test calls with was created, and audited, just now
        entries = {
            "tariff": audit_record(
                action="tariff.changed",
                target_type="tariffs.tariff",
                target_id=3,
                target_label="Standard",
                changes={"name": ["Standard", "Night"]},
                actor=Actor(kind=AuditEntry.ActorKind.USER, user_id=7, label="ops@alpha.test"),
                ip_address="10.0.0.1",
            ),
            "command": audit_record(
                action="command.sent",
                target_type="commands.command",
                target_id=11,
                actor=Actor(kind=AuditEntry.ActorKind.API_CLIENT, client_id="key:evk_abcd1234", label="ERP"),
            ),
            "system": audit_record(action="tariff.created", target_type="tariffs.tariff", target_id=4),
        }
        for hours_ago, entry in zip((3, 2, 1), entries.values(), strict=True):
            AuditEntry.objects.filter(pk=entry.pk).update(at=now - timedelta(hours=hours_ago))
    return entries


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [entry["id"] for entry in response.json()["results"]]


def test_lists_entries_newest_first_with_actor_target_and_changes(tenant, alpha_api):
    entries = log_in(tenant)

    response = alpha_api.get(URL)

    assert ids_of(response) == [entries["system"].pk, entries["command"].pk, entries["tariff"].pk]
    tariff = response.json()["results"][2]
    assert tariff["actor"] == {"kind": "user", "user_id": 7, "client_id": "", "label": "ops@alpha.test"}
    assert (tariff["action"], tariff["target_type"], tariff["target_id"], tariff["target_label"]) == (
        "tariff.changed",
        "tariffs.tariff",
        "3",
        "Standard",
    )
    assert tariff["changes"] == {"name": ["Standard", "Night"]} and tariff["ip_address"] == "10.0.0.1"


def test_filters_by_action_prefix_actor_and_time(tenant, alpha_api):
    entries = log_in(tenant)
    now = timezone.now()

    assert ids_of(alpha_api.get(URL, {"action": "command.sent"})) == [entries["command"].pk]
    assert ids_of(alpha_api.get(URL, {"action": "tariff."})) == [entries["system"].pk, entries["tariff"].pk]
    assert ids_of(alpha_api.get(URL, {"actor": "7"})) == [entries["tariff"].pk]
    assert ids_of(alpha_api.get(URL, {"actor": "key:evk_abcd1234"})) == [entries["command"].pk]
    assert ids_of(alpha_api.get(URL, {"actor": "system"})) == [entries["system"].pk]
    since, until = (now - timedelta(minutes=150)).isoformat(), (now - timedelta(minutes=90)).isoformat()
    assert ids_of(alpha_api.get(URL, {"since": since, "until": until})) == [entries["command"].pk]


def test_pages_with_a_cursor(tenant, alpha_api):
    entries = log_in(tenant)

    first = alpha_api.get(URL, {"page_size": 2}).json()
    second = alpha_api.get(first["next"]).json()

    assert [entry["id"] for entry in first["results"] + second["results"]] == [
        entries["system"].pk,
        entries["command"].pk,
        entries["tariff"].pk,
    ]


def test_another_brands_entries_are_not_listed_and_its_key_is_unknown_here(tenant, outsider, alpha_api):
    log_in(outsider)

    listed = alpha_api.get(URL).json()["results"]
    assert [entry["action"] for entry in listed] == ["api_key.created"]  # alpha's own key, nothing of bravo's
    bravo_key = key_in(outsider)
    assert api_client("alpha.localhost", bravo_key).get(URL).status_code == 401


def test_a_credential_without_audit_read_gets_403(tenant):
    response = api_client("alpha.localhost", key_in(tenant, scopes=[Scope.STATIONS_READ])).get(URL)
    assert response.status_code == 403 and response.json()["error"]["code"] == "scope_missing"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"actor": "drop table;"}, "actor"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"ordering": "at"}, "ordering"),
        ({"page_size": "0"}, "page_size"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(tenant, alpha_api, params, field):
    response = alpha_api.get(URL, params)
    assert response.status_code == 400 and field in response.json()["error"]["fields"]


@pytest.mark.parametrize(("role", "status"), [(Role.OWNER, 200), (Role.ADMIN, 200), (Role.OPERATOR, 403)])
def test_a_persons_token_needs_a_role_that_reads_the_audit_log(tenant, role, status):
    log_in(tenant)
    response = api_as(tenant, person_token(tenant, staff_of(tenant, role))).get(URL)
    assert response.status_code == status


def test_the_endpoint_is_in_the_openapi_schema(tenant):
    schema = Client(HTTP_HOST="alpha.localhost").get("/api/schema/?format=json").json()
    operation = schema["paths"][URL]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"action", "actor", "since", "until"}
    assert {"401", "403", "429"} <= set(operation["responses"])
