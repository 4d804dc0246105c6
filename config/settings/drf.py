"""Django REST framework: the public API authenticates by API key or OAuth 2.0 token and answers in one error format."""

from .env import env_int

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.api.authentication.ApiKeyAuthentication",
        "apps.api.authentication.OAuthTokenAuthentication",
    ],
    # Fail closed: a view that names no `required_scopes` is refused.
    "DEFAULT_PERMISSION_CLASSES": ["apps.api.permissions.HasRequiredScopes"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["apps.api.throttling.ApiClientRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "apps.api.pagination.IdCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "apps.api.schema.ApiSchema",
    "EXCEPTION_HANDLER": "apps.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

# Requests a minute per API client (an API key or OAuth application), counted in Redis when REDIS_URL is set,
# else in PostgreSQL (apps/api/throttling.py); an OAuth application may have its own limit.
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 1200)
# Requests a minute per client address to the driver app's public endpoints without a credential (the network).
API_ANONYMOUS_RATE_LIMIT_PER_MINUTE = env_int("API_ANONYMOUS_RATE_LIMIT_PER_MINUTE", 120)
# Guest starts in the driver app (each makes a payment customer and a hold) per client address and minute.
DRIVER_APP_GUEST_STARTS_PER_MINUTE = env_int("DRIVER_APP_GUEST_STARTS_PER_MINUTE", 5)
# Usage analytics keep this many days (a daily beat task forgets older ones); the API reads periods up to 366 days.
API_USAGE_RETENTION_DAYS = env_int("API_USAGE_RETENTION_DAYS", 400)

# The OpenAPI 3 schema (apps/api/schema.py), served at /api/schema/ with Swagger UI at /api/docs/ and ReDoc at
# /api/redoc/, both from the sidecar's static files (no CDN).
SPECTACULAR_SETTINGS = {
    "TITLE": "EV charging platform API",
    "DESCRIPTION": (
        "The public REST API of a charging brand. Every brand has its own hosts and sees only its own data. "
        "Authenticate with an API key (`Authorization: Bearer evk_…` or `X-Api-Key`) or an OAuth 2.0 access token. "
        'Errors share one shape: `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.api.schema.blank_alternatives_collapse",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CommandStatusEnum": "apps.commands.models.Command.Status",
        "CommandSourceEnum": "apps.commands.models.Command.Source",
        "ResetKindEnum": "apps.api.commands.RESET_KIND_CHOICES",
        "ChargingProfileKindEnum": "apps.api.commands.CHARGING_PROFILE_KIND_CHOICES",
        "StationGroupKindEnum": "apps.groups.models.StationGroup.Kind",
        "GroupRunStatusEnum": "apps.groups.models.GroupRun.Status",
        "GroupRunItemOutcomeEnum": "apps.api.groups.ITEM_OUTCOMES",
        "TariffAssignmentScopeEnum": "apps.api.tariffs.ASSIGNMENT_SCOPES",
        "CustomerGroupTypeEnum": "apps.tariffs.models.TariffAssignment.CustomerGroupType",
        "WebhookEventKindEnum": "apps.api.models.webhooks.EventKind",
        "WebhookEventKindOrAllEnum": "apps.api.models.webhooks.KIND_CHOICES",
        "WebhookDeliveryStatusEnum": "apps.api.models.webhooks.DeliveryStatus",
        "SessionStatusEnum": "apps.sessions.models.ChargingSession.Status",
        "InvoiceStatusEnum": "apps.billing.models.Invoice.Status",
        "InvoiceKindEnum": "apps.billing.models.Invoice.Kind",
        "TariffTypeEnum": "apps.tariffs.models.Tariff.Type",
        "IdTokenTypeEnum": "apps.sessions.models.IdToken.Type",
        "IdTokenStatusEnum": "apps.sessions.models.IdToken.Status",
        "UserRoleEnum": "apps.accounts.roles.Role",
    },
}
