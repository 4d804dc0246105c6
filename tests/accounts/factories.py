import factory

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.accounts.services import user_create

PASSWORD = "correct-horse-battery"


class UserFactory(factory.Factory):
    """A user of the schema active when it is built (enter the tenant's schema first)."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    password = PASSWORD
    role = Role.OPERATOR
    first_name = factory.Faker("first_name")
    # Signing in needs a verified address (mandatory email verification): test users have proved theirs.
    email_verified = True

    @classmethod
    def _create(cls, model_class, **kwargs):
        return user_create(**kwargs)


class DriverFactory(UserFactory):
    """A driver without a password, as the API creates them."""

    password = None
    role = Role.DRIVER
