import factory

from apps.whitelabel.models import Tenant
from apps.whitelabel.services import tenant_create


class TenantFactory(factory.Factory):
    """A brand with its schema cloned from the template; use inside a rolled-back test transaction."""

    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"brand-{n}")
    name = factory.LazyAttribute(lambda o: f"Brand {o.slug}")
    domains = factory.LazyAttribute(lambda o: [f"{o.slug}.example.test"])

    @classmethod
    def _create(cls, model_class, **kwargs):
        return tenant_create(**kwargs)
