"""Tenancy: which apps live in the public schema, which in every tenant's schema, and how schemas are made."""

SHARED_APPS = [
    "django_tenants",
    "daphne",
    "apps.whitelabel",
    "apps.accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.health",
    # Sign-in (config/settings/accounts.py): platform staff sign in on the platform's hosts.
    "allauth",
    "allauth.account",
    "allauth.mfa",
]

# Each brand's own data. Users live per tenant too: a driver or staff member belongs to one brand
# (docs/decisions/0002-users-per-tenant-schema.md).
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.admin",
    "apps.accounts",
    # Users are per schema, so are their email addresses and second factors.
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "apps.stations",
    "apps.sessions",
    "apps.commands",
    "apps.groups",
    "apps.tariffs",
    "apps.ocpp",
    "apps.billing",
    # Before apps.api, whose admin extends the OAuth application admin.
    "oauth2_provider",
    "apps.api",
    # Roaming over OCPI 2.2.1: the brand's party identity and its partners (docs/roaming.md).
    "apps.roaming",
    # The branded portal (templates and views; no models).
    "apps.portal",
    # The driver app (PWA): its shell, manifest and service worker; drivers' push subscriptions.
    "apps.pwa",
    # The operator admin's spreadsheet import and export (apps/accounts/spreadsheets.py). It has no models: listed
    # here because only brands' admins use it; INSTALLED_APPS gets its templates and static files either way.
    "import_export",
]

INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "whitelabel.Tenant"
TENANT_DOMAIN_MODEL = "whitelabel.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenants"
DEFAULT_NOT_FOUND_TENANT_VIEW = "apps.whitelabel.views.unknown_host"

# New tenant schemas are cloned from this template, which `manage.py platform_migrate` keeps migrated:
# running every migration per tenant costs seconds to minutes (docs/decisions/0003-tenant-schemas-by-cloning.md).
TENANT_TEMPLATE_SCHEMA = "tenant_template"

# A connection keeps its search_path until the schema changes (django-tenants resets it on every set_tenant, on
# close and on rollback), instead of issuing SET search_path before every cursor.
TENANT_LIMIT_SET_CALLS = True
