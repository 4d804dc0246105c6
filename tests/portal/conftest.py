"""Helpers of the portal's tests: a browser-less client signed in as a role of a brand, and a role stripped of a
permission (every staff role may view everything, so "without the permission" needs a narrowed role)."""

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.roles import ROLE_PERMISSIONS, Role
from apps.groups.services import staff_scope_set
from tests.accounts.factories import UserFactory


def client_of(tenant, role=None, scoped_to=()) -> Client:
    """A client on the brand's host, signed in as a new user of `role` (anonymous without one), limited to the
    locations `scoped_to` if any (groups.StaffScope)."""
    client = Client(HTTP_HOST=tenant.domains.first().domain)
    if role is not None:
        with schema_context(tenant.schema_name):
            user = UserFactory(role=role)
            if scoped_to:
                staff_scope_set(user=user, locations=scoped_to)
            client.force_login(user)
    return client


@pytest.fixture
def role_without(monkeypatch):
    """`role_without("charging.view_idtoken")`: the read-only role granted every view permission but that one."""

    def narrow(permission: str) -> str:
        app_label, codename = permission.split(".")
        patterns = {f"{app}.view_*" for app in ALL_VIEWS if app != app_label}
        patterns |= {f"{app_label}.view_{name}" for name in ALL_VIEWS[app_label] if f"view_{name}" != codename}
        monkeypatch.setitem(ROLE_PERMISSIONS, Role.READ_ONLY, frozenset(patterns))
        return Role.READ_ONLY

    return narrow


ALL_VIEWS = {
    "stations": ["station", "location", "evse", "connector", "fault", "messagelogentry", "statuschange"],
    "charging": ["chargingsession", "idtoken", "metersample", "reservation"],
    "tariffs": ["tariff", "tariffassignment"],
    "billing": ["cdr", "invoice"],
    "commands": ["command"],
}
