import factory
from django.contrib.auth.hashers import make_password

from apps.stations.models import Location, Station

STATION_PASSWORD = "a-station-password-of-some-length"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    name = factory.Sequence(lambda n: f"Site {n}")
    city = "Utrecht"
    country = "NL"
    timezone = "Europe/Amsterdam"


class StationFactory(factory.django.DjangoModelFactory):
    """An accepted profile-1 station whose password is STATION_PASSWORD (in the schema active when created)."""

    class Meta:
        model = Station

    identity = factory.Sequence(lambda n: f"CP-{n:04d}")
    location = factory.SubFactory(LocationFactory)
    security_profile = Station.SecurityProfile.BASIC
    password_hash = factory.LazyFunction(lambda: make_password(STATION_PASSWORD))
    registration_status = Station.Registration.ACCEPTED
