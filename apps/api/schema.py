"""The OpenAPI description of the API: every operation lists the error responses it can give, in the one format."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorBody = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorDetail",
            fields={
                "code": serializers.CharField(help_text="Machine-readable, e.g. invalid, not_found, scope_missing"),
                "message": serializers.CharField(help_text="For people"),
                "fields": serializers.DictField(
                    help_text="Per field (nested objects nested): the list of what is wrong with it"
                ),
            },
        )
    },
)

ERRORS = {
    400: "The request is not valid: `fields` names what is wrong.",
    401: "No credential, or an unknown, expired or revoked one.",
    403: "The credential lacks a scope this operation needs.",
    404: "No such object in this brand (another brand's ids are unknown here too).",
    429: "Too many requests: wait as many seconds as `Retry-After` says.",
}


class ApiSchema(AutoSchema):
    """Adds the error responses to every operation, so clients (and schemathesis) know every status they may get."""

    def get_operation_id(self) -> str:
        # One APIView per operation: a GET on a path that does not end in an id reads a collection. (Overriding
        # _is_list_view instead would also wrap the response in an array.)
        if self.method == "GET" and not self.path.rstrip("/").endswith("}"):
            return "_".join([*(part.replace("-", "_") for part in self._tokenize_path()), "list"])
        return super().get_operation_id()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, description in ERRORS.items():
            code = str(status)
            if code not in responses:
                responses[code] = self._get_response_for_code(OpenApiResponse(ErrorBody, description), code)
        return responses


class ApiKeySchemeExtension(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.ApiKeyAuthentication"
    name = ["ApiKey", "ApiKeyHeader"]

    def get_security_requirement(self, auto_schema):
        return [{"ApiKey": []}, {"ApiKeyHeader": []}]  # either one

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "evk_… API key or OAuth 2.0 access token"},
            {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
        ]


_pages: dict[type, serializers.Serializer] = {}


def page_of(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """The schema of a cursor-paginated list of `serializer_class` (apps/api/pagination.py)."""
    if serializer_class not in _pages:
        name = serializer_class.__name__.removesuffix("Output")
        _pages[serializer_class] = inline_serializer(
            name=f"{name}Page",
            fields={
                "next": serializers.URLField(allow_null=True, help_text="The next page, or null at the end"),
                "previous": serializers.URLField(allow_null=True),
                "results": serializer_class(many=True),
            },
        )
    return _pages[serializer_class]


CURSOR_PARAMETERS = [
    OpenApiParameter("cursor", str, description="Opaque: follow `next` and `previous`"),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": 200},
        description="Items per page, default 50, at most 200",
    ),
]

# Operations whose input is judged by domain rules a JSON schema cannot state (uniqueness, one component per
# dimension, an element that can never apply…) say so: a schema-valid body may still get a 400 naming the field.
BEYOND_SCHEMA = "x-validated-beyond-schema"


def validated_beyond_schema(rules: str) -> dict:
    """`extensions=` for extend_schema: names the rules a schema-valid request may still break."""
    return {BEYOND_SCHEMA: rules}
