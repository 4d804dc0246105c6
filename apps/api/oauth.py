"""OAuth 2.0 for the API (django-oauth-toolkit): which scopes an application may get, writes on applications,
and the pages a person sees while authorizing one (the brand's login and consent pages)."""

from collections.abc import Iterable

from django.contrib.auth.views import LoginView
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.urls import reverse_lazy
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model
from oauth2_provider.scopes import BaseScopes
from oauth2_provider.views import AuthorizationView

from apps.api.exceptions import ApiKeyInvalidScopeError
from apps.api.models import OAuthApplicationScopes, Scope

Application = get_application_model()


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
    return secret


class OAuthLoginView(LoginView):
    """The brand's sign-in page for authorizing an application: any active user of the brand (drivers too; the
    admin's login takes staff only)."""

    template_name = "oauth2_provider/login.html"
    redirect_authenticated_user = True


class OAuthAuthorizationView(AuthorizationView):
    login_url = reverse_lazy("oauth2_provider:login")
