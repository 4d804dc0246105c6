import factory

from apps.roaming.models import Partner, RoamingSettings
from apps.roaming.services import partner_create


class RoamingSettingsFactory(factory.django.DjangoModelFactory):
    """The brand's OCPI identity, in the schema active when it is built."""

    class Meta:
        model = RoamingSettings

    country_code = "NL"
    party_id = "ALP"
    roles = ["CPO"]
    business_name = "Alpha Charge"
    public_url = "http://alpha.localhost"


class PartnerFactory(factory.Factory):
    """A partner that registers with us: `token_a` is the token A we issued (shown once)."""

    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"partner{n}")

    @classmethod
    def _create(cls, model_class, **kwargs):
        partner, token_a = partner_create(**kwargs)
        partner.token_a = token_a
        return partner
