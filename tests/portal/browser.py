"""Signing a Playwright browser in to a brand's portal without the login page: a session made in the brand's
schema, its cookie set for the brand's host (the login page is another piece of work and may change)."""

from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django_tenants.utils import schema_context

from apps.whitelabel.selectors import tenant_get_by_host


def portal_login(page, user, host: str) -> None:
    """Sign `page`'s browser context in as `user` on `host` ("alpha.localhost:8123"), whose brand `user` belongs to."""
    tenant = tenant_get_by_host(host.split(":")[0])
    with schema_context(tenant.schema_name):
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": f"http://{host}"}]
    )
