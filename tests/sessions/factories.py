from decimal import Decimal

import factory
from django.utils import timezone

from apps.sessions.metering import ENERGY_REGISTER
from apps.sessions.models import ChargingSession, IdToken, MeterSample
from tests.stations.factories import StationFactory


class IdTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdToken

    uid = factory.Sequence(lambda n: f"TAG-{n:06d}")
    type = IdToken.Type.ISO14443
    status = IdToken.Status.ACCEPTED


class ChargingSessionFactory(factory.django.DjangoModelFactory):
    """A live session on EVSE 1 of a new station, started now at register 0 Wh; pass status, times and figures."""

    class Meta:
        model = ChargingSession

    station = factory.SubFactory(StationFactory)
    evse_id = 1
    connector_id = 1
    transaction_id = factory.Sequence(lambda n: f"TXF-{n:06d}")
    status = ChargingSession.Status.ACTIVE
    authorization_status = "Accepted"
    started_at = factory.LazyFunction(timezone.now)
    meter_start_wh = Decimal(0)


class MeterSampleFactory(factory.django.DjangoModelFactory):
    """One energy register reading in Wh of `session` (a reading in another unit: pass `value_normalised` too)."""

    class Meta:
        model = MeterSample

    session = factory.SubFactory(ChargingSessionFactory)
    station = factory.SelfAttribute("session.station")
    evse_id = factory.SelfAttribute("session.evse_id")
    sampled_at = factory.LazyFunction(timezone.now)
    measurand = ENERGY_REGISTER
    location = "Outlet"
    context = "Sample.Periodic"
    unit = "Wh"
    value = Decimal(0)
    value_normalised = factory.SelfAttribute("value")
