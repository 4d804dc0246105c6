import factory

from apps.sessions.models import IdToken


class IdTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdToken

    uid = factory.Sequence(lambda n: f"TAG-{n:06d}")
    type = IdToken.Type.ISO14443
    status = IdToken.Status.ACCEPTED
