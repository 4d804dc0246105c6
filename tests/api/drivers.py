"""Drivers and what their app holds, for the tests of the driver app's API (tests/api/test_driver_*.py) and of its
push messages (tests/pwa): a token like the one the PKCE flow gives (tests/api/test_driver_app_oauth.py runs the
flow itself), and a client that calls the API with it."""

import secrets
from datetime import timedelta

from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from oauth2_provider.models import AccessToken

from apps.accounts.roles import Role
from apps.api.services.driver_app import DRIVER_APP_SCOPES, driver_app_client
from tests.accounts.factories import UserFactory

ALPHA = "alpha.localhost"


def driver_of(tenant, **fields):
    with schema_context(tenant.schema_name):
        return UserFactory(role=Role.DRIVER, **fields)


def app_token(tenant, user, scopes=DRIVER_APP_SCOPES) -> str:
    with schema_context(tenant.schema_name):
        raw = secrets.token_urlsafe(32)
        AccessToken.objects.create(
            user=user,
            application=driver_app_client(),
            token=raw,
            expires=timezone.now() + timedelta(hours=1),
            scope=" ".join(scopes),
        )
    return raw


def app_of(tenant, user=None, scopes=DRIVER_APP_SCOPES, host=ALPHA) -> Client:
    user = user or driver_of(tenant)
    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {app_token(tenant, user, scopes)}")
