"""Stripe and Adyen, faked at their libraries' HTTP layer for every billing test: no test reaches the network."""

import Adyen.client
import pytest
import stripe

from tests.billing.fakes import FakeAdyen, FakeStripe


@pytest.fixture(autouse=True)
def stripe_api(monkeypatch) -> FakeStripe:
    fake = FakeStripe()
    monkeypatch.setattr(stripe, "default_http_client", fake)
    return fake


@pytest.fixture(autouse=True)
def adyen_api(monkeypatch) -> FakeAdyen:
    fake = FakeAdyen()
    monkeypatch.setattr(Adyen.client, "HTTPClient", fake)
    return fake


# The driver app's tests fake the station at the command service (tests/billing/driver.py).
from tests.billing.driver import station  # noqa: E402, F401
