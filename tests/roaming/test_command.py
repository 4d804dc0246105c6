"""`manage.py ocpi_register` registers the brand's partner and reports the OCPI error when it cannot."""

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from apps.roaming import services
from apps.roaming.exceptions import PartnerUnreachableError
from apps.roaming.services import partner_create
from tests.roaming.factories import RoamingSettingsFactory


def test_unreachable_partner_is_reported_with_3001(tenant, monkeypatch):
    with schema_context(tenant.schema_name):
        RoamingSettingsFactory()
        partner_create(name="Bravo Power", versions_url="http://nowhere.localhost:1/ocpi/versions", token="tok-a")

    def unreachable(*args, **kwargs):
        raise PartnerUnreachableError("connection refused")

    monkeypatch.setattr(services, "ocpi_request", unreachable)
    with pytest.raises(CommandError, match="OCPI 3001"):
        call_command("ocpi_register", tenant="alpha", partner="Bravo Power")


def test_unknown_partner_is_an_error(tenant):
    with pytest.raises(CommandError, match="No partner"):
        call_command("ocpi_register", tenant="alpha", partner="Nobody")
