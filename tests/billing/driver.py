"""Helpers of the driver app's charging tests: an online EVSE, a driver who pays by card, and a station faked at
the command service (what it answers to a remote start or stop). Build them in the tenant's schema."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.billing.services import driver_charges
from apps.commands.models import Command
from apps.commands.services import command_create, command_finish
from apps.sessions.models import ChargingSession, IdToken
from apps.sessions.services import session_start
from tests.accounts.factories import DriverFactory
from tests.billing.factories import PaymentCustomerFactory, StoredPaymentMethodFactory
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import ConnectorFactory


def online_evse(*, status: str = "Available", **station):
    connector = ConnectorFactory(
        evse__station=StationFactory(location=LocationFactory(name="Market Square"), **{"is_online": True, **station}),
        status=status,
    )
    return connector.evse


def paying_driver(method: str = "pm_card_visa", **customer):
    """A driver with a default stored card at the brand's (active) Stripe account."""
    user = DriverFactory()
    StoredPaymentMethodFactory(customer=PaymentCustomerFactory(user=user, **customer), provider_reference=method)
    return user


def station_starts(evse, id_token: IdToken, *, meter_start_wh: int = 1000) -> ChargingSession:
    """What follows an accepted remote start: the station starts a transaction with the token."""
    return session_start(
        station_id=evse.station_id,
        evse_id=evse.evse_id,
        connector_id=1,
        id_token_uid=id_token.uid,
        meter_start_wh=Decimal(meter_start_wh),
        started_at=timezone.now() - timedelta(seconds=1),
    ).session


@dataclass
class FakeStation:
    """Answers every command with `outcome` (accepted, rejected, timeout, offline) and keeps what it was sent."""

    outcome: str = Command.Status.ACCEPTED
    sent: list[Command] = field(default_factory=list)

    def send(self, *, wait: bool = True, **fields) -> Command:
        command = command_create(**fields)
        answer = {"accepted": "Accepted", "rejected": "Rejected"}.get(self.outcome, "")
        command_finish(command_id=command.pk, status=self.outcome, answer_status=answer)
        command.refresh_from_db()
        self.sent.append(command)
        return command


@pytest.fixture
def station(monkeypatch) -> FakeStation:
    fake = FakeStation()
    monkeypatch.setattr(driver_charges, "command_send", fake.send)
    return fake
