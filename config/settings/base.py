"""Settings shared by every environment. Environment-specific modules import this and adjust."""

from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured

from .accounts import *  # noqa: F401,F403
from .billing import *  # noqa: F401,F403
from .celery import *  # noqa: F401,F403
from .channels import *  # noqa: F401,F403
from .database import *  # noqa: F401,F403
from .database import BASE_DIR
from .drf import *  # noqa: F401,F403
from .env import env_bool, env_int, env_list, env_str
from .logging import *  # noqa: F401,F403
from .oauth import *  # noqa: F401,F403
from .oauth import OAUTH_CLIENT_SECRET_HASHER_CLASS
from .ocpp import *  # noqa: F401,F403
from .roaming import *  # noqa: F401,F403
from .tenants import *  # noqa: F401,F403

SECRET_KEY = env_str("SECRET_KEY", "")
DEBUG = env_bool("DEBUG", False)

# Every host reaches the tenant middleware, which answers 404 for a host that is no tenant's domain:
# the domains table is the allow-list, so adding a custom domain needs no redeploy.
ALLOWED_HOSTS = ["*"]

MIDDLEWARE = [
    "apps.health.middleware.HealthMiddleware",
    "django_tenants.middleware.main.TenantMainMiddleware",
    # A suspended brand's hosts answer 503 (apps/whitelabel/middleware.py).
    "apps.whitelabel.middleware.SuspendedTenantMiddleware",
    # Counts and times requests under /api/v1/ per partner application (apps/api/usage.py).
    "apps.api.usage.ApiUsageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: the user's saved language, then the tenant's default (apps/accounts/middleware.py).
    "apps.accounts.middleware.PreferredLanguageMiddleware",
    # Who acts in this request, for the audit log (apps/accounts/audit.py).
    "apps.accounts.audit.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # allauth's login stages (email verification, the second factor) keep their state on the request.
    "allauth.account.middleware.AccountMiddleware",
    "apps.api.throttling.RateLimitHeadersMiddleware",
    "apps.api.errors.RepeatedQueryParameterMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.whitelabel.context_processors.branding",
                "apps.portal.navigation.menu",
            ],
        },
    }
]

ASGI_APPLICATION = "config.asgi.application"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's hashers (the first hashes user passwords), then OAuth client secrets' own (config/settings/oauth.py).
PASSWORD_HASHERS = [*global_settings.PASSWORD_HASHERS, OAUTH_CLIENT_SECRET_HASHER_CLASS]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("nl", "Nederlands"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / env_str("MEDIA_DIR", "media")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Hosts the platform itself answers on (its public schema); tenants' hosts come from the domains table.
PLATFORM_HOSTS = env_list("PLATFORM_HOSTS", ["localhost", "127.0.0.1"])
# New brands get the subdomain <slug>.<PLATFORM_BASE_DOMAIN> besides their custom domains (docs/tenancy.md).
PLATFORM_BASE_DOMAIN = env_str("PLATFORM_BASE_DOMAIN", "localhost").strip().lower()

# Webhook URLs that resolve to private, loopback or link-local addresses are refused unless this is on
# (docs/webhooks.md): on in local development and tests (receivers on 127.0.0.1), off in production.
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", False)
# After a webhook secret is rotated, deliveries carry a signature with the previous secret too, for this long, so
# receivers can switch over without refusing deliveries (docs/webhooks.md); 0: the old secret stops at once.
WEBHOOK_SECRET_OVERLAP_HOURS = env_int("WEBHOOK_SECRET_OVERLAP_HOURS", 24)
if WEBHOOK_SECRET_OVERLAP_HOURS < 0:
    raise ImproperlyConfigured(f"WEBHOOK_SECRET_OVERLAP_HOURS={WEBHOOK_SECRET_OVERLAP_HOURS} must not be negative.")

# Web Push to drivers' browsers (docs/driver-account.md): push service endpoints must be https; http://localhost and
# http://127.0.0.1 only when this is on (local development and tests, with a push service stand-in). VAPID's `sub`:
# a contact the push services can reach about the pushes (RFC 8292).
WEB_PUSH_ALLOW_HTTP_LOCALHOST = env_bool("WEB_PUSH_ALLOW_HTTP_LOCALHOST", False)
WEB_PUSH_CONTACT = env_str("WEB_PUSH_CONTACT", "mailto:push@localhost")
WEB_PUSH_TIMEOUT_SECONDS = env_int("WEB_PUSH_TIMEOUT_SECONDS", 10)
# The end-of-session push waits this long in the worker, so billing has issued the CDR whose cost it names.
WEB_PUSH_SESSION_END_DELAY_SECONDS = env_int("WEB_PUSH_SESSION_END_DELAY_SECONDS", 15)

# Map tiles of the portal's overview (docs/portal.md); the page is complete without them (offline, blocked).
PORTAL_MAP_TILE_URL = env_str("PORTAL_MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
