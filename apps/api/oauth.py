"""OAuth 2.0 for the API (django-oauth-toolkit): which scopes an application may get, writes on applications,
how client secrets are hashed, the brand's authorization server metadata (RFC 8414), and the pages a person sees
while authorizing an application (the brand's login and consent pages)."""

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.http import JsonResponse
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_GET
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model
from oauth2_provider.scopes import BaseScopes
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView

from apps.accounts.audit import audit_record
from apps.accounts.views import BrandLoginView
from apps.api.exceptions import ApiKeyInvalidScopeError
from apps.api.models import OAuthApplicationScopes, Scope

Application = get_application_model()


class ClientSecretHasher(PBKDF2PasswordHasher):
    """PBKDF2 with few iterations (`OAUTH_CLIENT_SECRET_ITERATIONS`), for OAuth client secrets only
    (`OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"]`): a generated secret is 128 random characters, out of reach of brute
    force at any iteration count, while Django's 10^6 iterations, made for people's guessable passwords, cost every
    token request 0.2 s of CPU. Its own algorithm name, so user passwords never use it and secrets hashed before it
    (Django's default hasher) still verify: the stored hash names its hasher (docs/decisions/0014-oauth-per-brand.md).
    """

    algorithm = "client_secret_pbkdf2_sha256"

    @property
    def iterations(self) -> int:
        return settings.OAUTH_CLIENT_SECRET_ITERATIONS


def oauth_application_allowed_scopes(application) -> list[str]:
    """The scopes an operator allowed `application`; none while it has no scopes row."""
    try:
        allowed = application.api_scopes.scopes
    except ObjectDoesNotExist:
        return []
    return [scope for scope in allowed if scope in Scope.values]


class ApplicationScopesBackend(BaseScopes):
    """The toolkit's scopes are the API's `Scope`s, and each application may get only those allowed to it.

    A token request for a scope the application was not allowed is refused with `invalid_scope` (not narrowed):
    the client learns at once that it asked for too much instead of failing later with 403s. A request that names
    no scope gets every allowed scope.
    """

    def get_all_scopes(self) -> dict[str, str]:
        return {scope.value: str(scope.label) for scope in Scope}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        return oauth_application_allowed_scopes(application) if application is not None else []

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        return self.get_available_scopes(application, request)


def _scopes_checked(scopes: Iterable[str]) -> list[str]:
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown:
        raise ApiKeyInvalidScopeError(unknown)
    return scopes


@transaction.atomic
def oauth_application_create(
    *,
    name: str,
    client_type: str,
    grant_type: str,
    scopes: Iterable[str],
    redirect_uris: str = "",
    skip_authorization: bool = False,
    rate_limit_per_minute: int | None = None,
) -> tuple["Application", str | None]:
    """An application with its allowed scopes. Returns the plaintext client secret of a confidential client, which
    is stored only hashed and never shown again; a public client (a browser or mobile app) has no secret."""
    scopes = _scopes_checked(scopes)
    secret = generate_client_secret() if client_type == Application.CLIENT_CONFIDENTIAL else None
    application = Application(
        name=name,
        client_type=client_type,
        authorization_grant_type=grant_type,
        redirect_uris=redirect_uris,
        client_secret=secret or "",
        hash_client_secret=secret is not None,
        skip_authorization=skip_authorization,
    )
    application.full_clean()
    application.save()
    OAuthApplicationScopes.objects.create(
        application=application, scopes=scopes, rate_limit_per_minute=rate_limit_per_minute
    )
    return application, secret


@transaction.atomic
def oauth_application_scopes_set(
    *, application, scopes: Iterable[str], rate_limit_per_minute: int | None = None
) -> OAuthApplicationScopes:
    """Takes effect at once, for tokens already issued too (apps.api.authentication narrows them)."""
    row, _ = OAuthApplicationScopes.objects.update_or_create(
        application=application,
        defaults={"scopes": _scopes_checked(scopes), "rate_limit_per_minute": rate_limit_per_minute},
    )
    return row


@transaction.atomic
def oauth_application_secret_renew(*, application) -> str:
    """A new client secret for a confidential application; the old one stops working at once."""
    secret = generate_client_secret()
    application.client_secret = secret
    application.hash_client_secret = True
    application.save(update_fields=["client_secret", "hash_client_secret", "updated"])
    audit_record(action="oauth_application.secret_renewed", target=application)
    return secret


# What the token endpoint accepts: a confidential client's secret in the Authorization header or the form body; a
# public client (PKCE) sends only its client_id.
TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
GRANT_TYPES = ["authorization_code", "client_credentials", "refresh_token"]


@require_GET
def oauth_server_metadata(request) -> JsonResponse:
    """RFC 8414 authorization server metadata of the brand whose host is asked: its issuer and endpoints on that host.

    The issuer is derived as the toolkit derives the `iss` of authorization responses (RFC 9207), so that the two
    always match: the origin the request came to, https in production (behind the TLS proxy, X-Forwarded-Proto)."""

    def url(name: str) -> str:
        return request.build_absolute_uri(reverse(f"oauth2_provider:{name}"))

    document = {
        "issuer": oauth2_settings.oauth2_authorization_server_issuer(request),
        "authorization_endpoint": url("authorize"),
        "token_endpoint": url("token"),
        "revocation_endpoint": url("revoke-token"),
        "introspection_endpoint": url("introspect"),
        "scopes_supported": list(Scope.values),
        "response_types_supported": ["code"],
        "grant_types_supported": GRANT_TYPES,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": TOKEN_ENDPOINT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": TOKEN_ENDPOINT_AUTH_METHODS,
        "authorization_response_iss_parameter_supported": True,
    }
    response = JsonResponse(document)
    # Browser apps (the driver PWA) read it from their own origin.
    response["Access-Control-Allow-Origin"] = "*"
    return response


class OAuthLoginView(BrandLoginView):
    """The brand's sign-in page for authorizing an application: any active user of the brand (drivers too). It is
    allauth's login (apps/accounts/views.py), so email verification and the second factor apply here as well."""

    template_name = "oauth2_provider/login.html"


class OAuthAuthorizationView(AuthorizationView):
    login_url = reverse_lazy("oauth2_provider:login")
