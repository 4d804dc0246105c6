"""Django REST framework: the public API authenticates by API key only and answers in one error format."""

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.api.authentication.ApiKeyAuthentication"],
    # Fail closed: a view that names no `required_scopes` is refused.
    "DEFAULT_PERMISSION_CLASSES": ["apps.api.permissions.HasRequiredScopes"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "apps.api.pagination.IdCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "apps.api.schema.ApiSchema",
    "EXCEPTION_HANDLER": "apps.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

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
    "ENUM_NAME_OVERRIDES": {
        "SessionStatusEnum": "apps.sessions.models.ChargingSession.Status",
        "InvoiceStatusEnum": "apps.billing.models.Invoice.Status",
        "InvoiceKindEnum": "apps.billing.models.Invoice.Kind",
    },
}
