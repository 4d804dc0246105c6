import factory

from apps.groups.models import StationGroup


class StationGroupFactory(factory.django.DjangoModelFactory):
    """A custom group; pass `stations=[...]`, or `kind="location", locations=[...]` (in the tenant's schema)."""

    class Meta:
        model = StationGroup
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Group {n}")
    kind = StationGroup.Kind.CUSTOM

    @factory.post_generation
    def locations(self, create, extracted, **kwargs):
        if create and extracted:
            self.locations.set(extracted)

    @factory.post_generation
    def stations(self, create, extracted, **kwargs):
        if create and extracted:
            self.stations.set(extracted)
