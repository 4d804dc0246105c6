"""OAuth 2.0 (django-oauth-toolkit) beside API keys: each brand's applications and tokens live in its schema."""

from django.core.exceptions import ImproperlyConfigured

from .env import env_int

# PBKDF2 iterations of OAuth client secrets (128 random characters, machine secrets): each token request verifies
# one, so this is CPU per token request (docs/decisions/0014-oauth-per-brand.md).
OAUTH_CLIENT_SECRET_ITERATIONS = env_int("OAUTH_CLIENT_SECRET_ITERATIONS", 1000)
if OAUTH_CLIENT_SECRET_ITERATIONS < 1:
    raise ImproperlyConfigured(f"OAUTH_CLIENT_SECRET_ITERATIONS={OAUTH_CLIENT_SECRET_ITERATIONS} must be at least 1.")
# Appended to PASSWORD_HASHERS (base, test), never first: user passwords keep Django's default hasher.
OAUTH_CLIENT_SECRET_HASHER_CLASS = "apps.api.oauth.ClientSecretHasher"

OAUTH2_PROVIDER = {
    # The scopes are apps.api.models.Scope (settings cannot import models): the backend serves them, and each
    # application may be given only the scopes an operator allowed it (apps.api.models.OAuthApplicationScopes).
    "SCOPES_BACKEND_CLASS": "apps.api.oauth.ApplicationScopesBackend",
    "SCOPES": {},
    "DEFAULT_SCOPES": [],
    # Authorization code grants need PKCE with S256 ("plain" is refused).
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    # No implicit or password grants, no tokens in query strings.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    # Tokens are stored only as their SHA-256 (like API keys); client secrets with a fast salted hasher of their
    # own (apps.api.oauth.ClientSecretHasher; secrets hashed earlier with the default hasher still verify).
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "CLIENT_SECRET_HASHER": "client_secret_pbkdf2_sha256",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH_ACCESS_TOKEN_SECONDS", 3600),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("OAUTH_REFRESH_TOKEN_SECONDS", 30 * 24 * 3600),
    # Every refresh gives a new refresh token; presenting a used one again revokes the whole family.
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    # The authorization response names its issuer (the brand's host), against mix-ups between brands (RFC 9207).
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    # Ask the user every time unless the operator marked the application "skip authorization" (first-party apps).
    "REQUEST_APPROVAL_PROMPT": "force",
}

# The toolkit's own application model (not swapped: apps.api.models.OAuthApplicationScopes sits beside it). Named
# here because migrations that point at it read this setting.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
