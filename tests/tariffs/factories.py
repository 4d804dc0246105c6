import factory

from apps.stations.models import Connector, Evse
from apps.tariffs.models import Tariff, TariffAssignment
from tests.stations.factories import StationFactory

ENERGY_ELEMENTS = [{"price_components": [{"type": "ENERGY", "price": "0.30", "vat": "21", "step_size": 1}]}]


class TariffFactory(factory.django.DjangoModelFactory):
    """A valid EUR tariff at 0.30/kWh + 21 % VAT (in the schema active when created)."""

    class Meta:
        model = Tariff

    code = factory.Sequence(lambda n: f"T-{n:04d}")
    name = factory.Sequence(lambda n: f"Tariff {n}")
    currency = "EUR"
    elements = factory.LazyFunction(lambda: [dict(e) for e in ENERGY_ELEMENTS])


class EvseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Evse

    station = factory.SubFactory(StationFactory)
    evse_id = 1


class ConnectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connector

    evse = factory.SubFactory(EvseFactory)
    connector_id = 1


class TariffAssignmentFactory(factory.django.DjangoModelFactory):
    """Pass one of location, station_group or connector."""

    class Meta:
        model = TariffAssignment

    tariff = factory.SubFactory(TariffFactory)
