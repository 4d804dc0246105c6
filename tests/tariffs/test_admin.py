"""Operators edit tariffs in the admin: the elements as JSON, refused with the reason when contradictory, shown in
words with a preview cost, and assigned inline."""

import json
import re

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.tariffs.models import Tariff
from tests.accounts.factories import PASSWORD, UserFactory
from tests.stations.factories import LocationFactory
from tests.tariffs.factories import TariffAssignmentFactory

TARIFFS = "/admin/tariffs/tariff/"


def login(tenant) -> Client:
    with schema_context(tenant.schema_name):
        user = UserFactory(role=Role.ADMIN)
    client = Client(HTTP_HOST="alpha.localhost")
    assert client.post("/admin/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def form(elements) -> dict:
    return {
        "code": "DAY-NIGHT",
        "name": "Day and night",
        "currency": "EUR",
        "elements": json.dumps(elements),
        "tariff_alt_text": "[]",
        "parking_grace_minutes": "0",
        "assignments-TOTAL_FORMS": "0",
        "assignments-INITIAL_FORMS": "0",
    }


@pytest.mark.django_db
def test_a_contradictory_tariff_is_refused_with_the_reason(tenant):
    client = login(tenant)
    elements = [
        {
            "price_components": [{"type": "ENERGY", "price": "0.3", "step_size": 1}],
            "restrictions": {"min_kwh": 9, "max_kwh": 1},
        }
    ]
    response = client.post(f"{TARIFFS}add/", form(elements))
    assert response.status_code == 200
    assert "min_kwh (9) must be below max_kwh (1)" in text_of(response)
    with schema_context(tenant.schema_name):
        assert not Tariff.objects.exists()


@pytest.mark.django_db
def test_a_tariff_is_saved_shown_in_words_and_previewed(tenant):
    client = login(tenant)
    elements = [
        {
            "price_components": [{"type": "ENERGY", "price": "0.20", "step_size": 1}],
            "restrictions": {"start_time": "23:00", "end_time": "07:00"},
        },
        {"price_components": [{"type": "ENERGY", "price": "0.40", "vat": "21", "step_size": 1}]},
    ]
    response = client.post(f"{TARIFFS}add/", form(elements))
    assert response.status_code == 302, text_of(response)
    with schema_context(tenant.schema_name):
        tariff = Tariff.objects.get(code="DAY-NIGHT")
        TariffAssignmentFactory(tariff=tariff, location=LocationFactory(timezone="Europe/Amsterdam"))

    page = text_of(client.get(f"{TARIFFS}{tariff.pk}/change/"))
    assert "ENERGY: 0.20 EUR per kWh, step 1 — when 23:00–07:00" in page
    assert "1 h charging at 11 kW" in page and "(read in Europe/Amsterdam)" in page
    assert "EUR excl. VAT" in page
    assert "Day and night" in text_of(client.get(TARIFFS))
