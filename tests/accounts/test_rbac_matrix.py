"""Every role against the same rules at every edge: the admin, the API with a person's OAuth token, and the portal.

The matrix is a table of checks, each (edge, request, permission): a role whose permissions (apps/accounts/roles.py)
include the permission gets through, any other gets 403 — in the admin (a driver, who has no admin, is sent to its
login page instead), in the API (in the API's error format) and in the portal alike; and a refused write changes
nothing. Add a portal page by adding a row.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import AUDIT_READ
from apps.accounts.roles import STAFF_ROLES, Role, role_allows
from apps.commands.models import Command
from apps.sessions.models import IdToken
from apps.tariffs.models import Tariff
from tests.accounts.rbac import api_as, person_token, signed_in, staff_of
from tests.sessions.factories import IdTokenFactory
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffFactory


@dataclass(frozen=True)
class World:
    """What the requests act on, in the tenant's schema."""

    station: int
    tariff: int
    id_token: int


@dataclass(frozen=True)
class Check:
    edge: str  # admin, api or portal
    name: str
    permission: str | tuple[str, ...]  # a tuple: every one of them
    send: Callable
    allowed_statuses: tuple[int, ...] = (200,)
    # Sends a command: command_send needs committed rows, so the test runs with a transactional database.
    sends_command: bool = False

    def __str__(self) -> str:
        return f"{self.edge}: {self.name}"


def _json(method: str, path: str, body: dict):
    return lambda client, world: getattr(client, method)(
        path.format(**world.__dict__), json.dumps(body), content_type="application/json"
    )


CHECKS = [
    Check("admin", "station list", "stations.view_station", lambda c, w: c.get("/admin/stations/station/")),
    Check(
        "admin",
        "tariff change",
        "tariffs.change_tariff",
        # An empty form: allowed roles see it again with its errors (200), others are refused before validation.
        lambda c, w: c.post(f"/admin/tariffs/tariff/{w.tariff}/change/", {}),
    ),
    Check(
        "admin",
        "command action",
        "commands.add_command",
        lambda c, w: c.post("/admin/stations/station/", {"action": "reset_soft", "_selected_action": [w.station]}),
        allowed_statuses=(302,),
        sends_command=True,
    ),
    Check("admin", "audit log", AUDIT_READ, lambda c, w: c.get("/admin/accounts/auditentry/")),
    Check("api", "GET stations", "stations.view_station", lambda c, w: c.get("/api/v1/stations/")),
    Check(
        "api",
        "POST a command",
        "commands.add_command",
        _json("post", "/api/v1/stations/{station}/commands/reset/", {"kind": "soft"}),
        sends_command=True,
    ),
    Check(
        "api", "PATCH a tariff", "tariffs.change_tariff", _json("patch", "/api/v1/tariffs/{tariff}/", {"name": "New"})
    ),
    Check("api", "GET the audit log", AUDIT_READ, lambda c, w: c.get("/api/v1/audit-log/")),
    Check("portal", "overview", "stations.view_station", lambda c, w: c.get("/portal/")),
    Check("portal", "stations", "stations.view_station", lambda c, w: c.get("/portal/stations/")),
    Check("portal", "station page", "stations.view_station", lambda c, w: c.get(f"/portal/stations/{w.station}/")),
    Check(
        "portal",
        "station command",
        ("stations.view_station", "commands.add_command"),
        lambda c, w: c.post(
            f"/portal/stations/{w.station}/commands/",
            {"operation": "reset", "reset-operation": "reset", "reset-kind": "soft"},
        ),
        allowed_statuses=(302,),
        sends_command=True,
    ),
    Check("portal", "sessions", "charging.view_chargingsession", lambda c, w: c.get("/portal/sessions/")),
    Check("portal", "faults", "stations.view_fault", lambda c, w: c.get("/portal/faults/")),
    Check("portal", "statistics", "charging.view_chargingsession", lambda c, w: c.get("/portal/statistics/")),
    Check("portal", "ID tokens", "charging.view_idtoken", lambda c, w: c.get("/portal/tokens/")),
    Check(
        "portal",
        "block an ID token",
        ("charging.view_idtoken", "charging.change_idtoken"),
        lambda c, w: c.post(f"/portal/tokens/{w.id_token}/status/", {"status": "Blocked"}),
        allowed_statuses=(302,),
    ),
    Check("portal", "tariffs", "tariffs.view_tariff", lambda c, w: c.get("/portal/tariffs/")),
    Check("portal", "reports", "charging.view_chargingsession", lambda c, w: c.get("/portal/reports/")),
    Check("portal", "users", "accounts.change_user", lambda c, w: c.get("/portal/users/")),
]
ROLES = list(Role)


def _world(tenant) -> World:
    with schema_context(tenant.schema_name):
        return World(
            station=StationFactory(protocol="ocpp1.6").pk,
            tariff=TariffFactory(name="Standard").pk,
            id_token=IdTokenFactory(uid="MATRIX-TAG").pk,
        )


def _client(tenant, check: Check, role: str):
    user = staff_of(tenant, role)
    if check.edge == "api":
        return api_as(tenant, person_token(tenant, user))
    return signed_in(tenant, user)


def _expected_allowed(check: Check, role: str) -> bool:
    if check.edge in ("admin", "portal") and role not in STAFF_ROLES:
        return False
    permissions = (check.permission,) if isinstance(check.permission, str) else check.permission
    return all(role_allows(role, permission) for permission in permissions)


def _assert_outcome(tenant, check: Check, role: str, response) -> None:
    allowed = _expected_allowed(check, role)
    if allowed:
        assert response.status_code in check.allowed_statuses, (str(check), role, response.status_code)
    elif check.edge == "admin" and role not in STAFF_ROLES:
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    else:
        assert response.status_code == 403, (str(check), role, response.status_code)
        if check.edge == "api":
            assert response.json()["error"]["code"] == "permission_denied"
    with schema_context(tenant.schema_name):
        if check.sends_command:
            assert Command.objects.exists() is allowed
        if check.name == "block an ID token":
            blocked = IdToken.objects.get(uid="MATRIX-TAG").status == IdToken.Status.BLOCKED
            assert blocked is allowed
        if check.name.endswith("tariff"):
            assert Tariff.objects.get(name__in=("Standard", "New")).name == ("New" if allowed else "Standard")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("check", [check for check in CHECKS if not check.sends_command], ids=str)
def test_each_role_gets_through_or_403_as_its_permissions_say(tenant, check, role):
    world = _world(tenant)
    response = check.send(_client(tenant, check, role), world)
    _assert_outcome(tenant, check, role, response)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("check", [check for check in CHECKS if check.sends_command], ids=str)
def test_each_role_sends_a_command_or_gets_403_as_its_permissions_say(tenant, check, role):
    world = _world(tenant)
    response = check.send(_client(tenant, check, role), world)
    _assert_outcome(tenant, check, role, response)


def test_the_matrix_covers_every_role_and_edge():
    assert {role.value for role in ROLES} >= {
        "owner",
        "admin",
        "operator",
        "technician",
        "finance",
        "support",
        "read_only",
        "reseller_manager",
        "driver",
    }
    assert {check.edge for check in CHECKS} == {"admin", "api", "portal"}


@pytest.mark.django_db
def test_api_keys_stay_governed_by_their_scopes_only(tenant):
    """A key acts for the brand: no person, no role to check."""
    from tests.api.conftest import api_client, key_in

    world = _world(tenant)
    response = api_client("alpha.localhost", key_in(tenant)).patch(
        f"/api/v1/tariffs/{world.tariff}/", json.dumps({"name": "New"}), content_type="application/json"
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_person_token_of_another_brand_is_unknown_here(tenant, outsider):
    owner = staff_of(outsider, Role.OWNER)
    token = person_token(outsider, owner)
    response = api_as(tenant, token).get("/api/v1/stations/")
    assert response.status_code == 401


@pytest.mark.django_db
def test_a_drivers_app_reads_the_public_network_and_nothing_of_other_people(tenant):
    world = _world(tenant)
    driver = api_as(tenant, person_token(tenant, staff_of(tenant, Role.DRIVER)))

    assert [s["id"] for s in driver.get("/api/v1/stations/").json()["results"]] == [world.station]
    assert driver.get("/api/v1/locations/").status_code == 200
    assert driver.get(f"/api/v1/tariffs/{world.tariff}/").status_code == 200
    for path in ("/api/v1/sessions/", "/api/v1/tokens/", "/api/v1/users/", "/api/v1/faults/", "/api/v1/audit-log/"):
        response = driver.get(path)
        assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied", path
    refused = _json("patch", "/api/v1/tariffs/{tariff}/", {"name": "New"})(driver, world)
    assert refused.status_code == 403
    assert signed_in(tenant, staff_of(tenant, Role.DRIVER)).get("/portal/stations/").status_code == 403
