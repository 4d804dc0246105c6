"""A tenant task for the worker test: the worker imports this module with `celery worker -I`."""

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.accounts.services import user_create
from apps.whitelabel.tenancy import tenant_task


@tenant_task()
def user_create_for_test(email: str) -> int:
    return user_create(email=email, password=None, role=Role.DRIVER).pk


@tenant_task()
def user_count_for_test() -> int:
    return User.objects.count()
