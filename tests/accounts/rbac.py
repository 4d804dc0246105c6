"""Helpers of the RBAC tests: a signed-in admin or portal client of some role, and a person's OAuth access token
(what an application gets through the authorization code grant) to call the API as that person."""

import secrets
from datetime import timedelta

from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from oauth2_provider.models import AccessToken, Application

from apps.api.models import Scope
from apps.api.oauth import oauth_application_create
from tests.accounts.factories import UserFactory

ALPHA = "alpha.localhost"
ALL_SCOPES = list(Scope.values)


def signed_in(tenant, user) -> Client:
    client = Client(HTTP_HOST=tenant.domains.first().domain)
    with schema_context(tenant.schema_name):
        client.force_login(user)
    return client


def staff_of(tenant, role, **fields):
    with schema_context(tenant.schema_name):
        return UserFactory(role=role, **fields)


def person_token(tenant, user, scopes=ALL_SCOPES) -> str:
    """An access token `user` authorized for an application allowed `scopes` (authorization code grant)."""
    with schema_context(tenant.schema_name):
        application, _ = oauth_application_create(
            name=f"Operations app {secrets.token_hex(3)}",
            client_type=Application.CLIENT_PUBLIC,
            grant_type=Application.GRANT_AUTHORIZATION_CODE,
            scopes=scopes,
            redirect_uris="https://ops.example/callback",
        )
        raw = secrets.token_urlsafe(32)
        AccessToken.objects.create(
            user=user,
            application=application,
            token=raw,
            expires=timezone.now() + timedelta(hours=1),
            scope=" ".join(scopes),
        )
    return raw


def api_as(tenant, token: str) -> Client:
    return Client(HTTP_HOST=tenant.domains.first().domain, HTTP_AUTHORIZATION=f"Bearer {token}")
