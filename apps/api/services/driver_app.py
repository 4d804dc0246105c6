"""The OAuth 2.0 client of each brand's driver app (the PWA under /app/): a public authorization-code client with
PKCE, one per brand, whose redirect URIs follow the brand's domains. Created or brought up to date on demand."""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from oauth2_provider.models import get_application_model
from oauth2_provider.settings import oauth2_settings

from apps.api.models import OAuthApplicationScopes, Scope
from apps.api.oauth import oauth_application_create
from apps.whitelabel.models import Domain

Application = get_application_model()

DRIVER_APP_NAME = "Driver app"
# The same in every brand (each brand's applications live in its own schema): the PWA may name it without asking.
DRIVER_APP_CLIENT_ID = "driver-app"
DRIVER_APP_SCOPES = [Scope.LOCATIONS_READ, Scope.STATIONS_READ, Scope.TARIFFS_READ, Scope.ME_READ, Scope.ME_WRITE]
CALLBACK_PATH = "/app/callback"


def _http_allowed(host: str) -> bool:
    """Plain http only where no one can listen in: local development (DEBUG) and *.localhost, and only when the
    settings allow http redirect URIs at all (config/settings/local.py; production allows https only)."""
    if "http" not in oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES:
        return False
    return settings.DEBUG or host == "localhost" or host.endswith(".localhost")


def _brand_hosts() -> list[str]:
    return sorted(Domain.objects.filter(tenant__schema_name=connection.schema_name).values_list("domain", flat=True))


def driver_app_redirect_uris(*, origin: str | None = None) -> list[str]:
    """https://<each domain>/app/callback, http:// too where allowed (_http_allowed). `origin` (the origin a page
    was served from, e.g. http://demo.localhost:8000 under `make run`) adds its callback when its host is one of the
    brand's domains, so a development server on another port works."""
    hosts = _brand_hosts()
    uris = []
    for host in hosts:
        uris.append(f"https://{host}{CALLBACK_PATH}")
        if _http_allowed(host):
            uris.append(f"http://{host}{CALLBACK_PATH}")
    if origin:
        parts = urlsplit(origin)
        scheme, host = parts.scheme, (parts.hostname or "")
        if host in hosts and (scheme == "https" or (scheme == "http" and _http_allowed(host))):
            uri = f"{scheme}://{parts.netloc}{CALLBACK_PATH}"
            if uri not in uris:
                uris.append(uri)
    return uris


def driver_app_client(*, origin: str | None = None) -> "Application":
    """The brand's driver app client (in the active tenant schema): public, authorization code (PKCE S256 is required
    for every client, config/settings/oauth.py), `skip_authorization` so a signed-in driver is not asked to consent to
    their brand's own app, allowed scopes `DRIVER_APP_SCOPES`. Redirect URIs and scopes are brought up to date on
    every call, so a domain added to the brand works at once; redirect URIs registered before (e.g. another
    development port) are kept. Cheap when nothing changed (one read, no lock): the app's pages may call it."""
    uris = driver_app_redirect_uris(origin=origin)
    application = Application.objects.select_related("api_scopes").filter(client_id=DRIVER_APP_CLIENT_ID).first()
    if application is not None and not _changes(application, uris) and _scopes_current(application):
        return application
    return _driver_app_update(uris)


def _expected(application, uris: list[str]) -> dict:
    registered = application.redirect_uris.split()
    return {
        "redirect_uris": " ".join(registered + [uri for uri in uris if uri not in registered]),
        "client_type": Application.CLIENT_PUBLIC,
        "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
        "skip_authorization": True,
    }


def _changes(application, uris: list[str]) -> dict:
    expected = _expected(application, uris)
    return {field: value for field, value in expected.items() if getattr(application, field) != value}


def _scopes_current(application) -> bool:
    row = getattr(application, "api_scopes", None)
    return row is not None and sorted(row.scopes) == sorted(DRIVER_APP_SCOPES)


@transaction.atomic
def _driver_app_update(uris: list[str]) -> "Application":
    application = Application.objects.select_for_update().filter(client_id=DRIVER_APP_CLIENT_ID).first()
    if application is None:
        try:
            with transaction.atomic():
                return _driver_app_create(uris)
        except IntegrityError:  # created by a concurrent request a moment ago
            application = Application.objects.select_for_update().get(client_id=DRIVER_APP_CLIENT_ID)
    changes = _changes(application, uris)
    if changes:
        for field, value in changes.items():
            setattr(application, field, value)
        application.save(update_fields=[*changes, "updated"])
    OAuthApplicationScopes.objects.update_or_create(
        application=application, defaults={"scopes": sorted(DRIVER_APP_SCOPES)}
    )
    return Application.objects.select_related("api_scopes").get(pk=application.pk)


def _driver_app_create(uris: list[str]) -> "Application":
    application, _ = oauth_application_create(
        name=DRIVER_APP_NAME,
        client_type=Application.CLIENT_PUBLIC,
        grant_type=Application.GRANT_AUTHORIZATION_CODE,
        scopes=DRIVER_APP_SCOPES,
        redirect_uris=" ".join(uris),
        skip_authorization=True,
    )
    application.client_id = DRIVER_APP_CLIENT_ID
    application.save(update_fields=["client_id"])
    return application
