"""The OpenAPI description of the API: every operation lists the error responses it can give, in the one format."""

import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from apps.api.models import Scope
from apps.api.pagination import ORDERINGS

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
    503: "The brand is suspended (`tenant_suspended`); nothing is lost, it answers again once resumed.",
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
            {"type": "http", "scheme": "bearer", "bearerFormat": "evk_… API key"},
            {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
        ]


class OAuthSchemeExtension(OpenApiAuthenticationExtension):
    """OAuth 2.0 on the brand's own host: client credentials for servers, authorization code with PKCE (S256) for
    apps acting for a person. An operation lists the scopes it needs."""

    target_class = "apps.api.authentication.OAuthTokenAuthentication"
    name = "OAuth2"

    def get_security_requirement(self, auto_schema):
        return {self.name: [str(scope) for scope in getattr(auto_schema.view, "required_scopes", None) or []]}

    def get_security_definition(self, auto_schema):
        scopes = {scope.value: str(scope.label) for scope in Scope}
        return {
            "type": "oauth2",
            "description": (
                "Access tokens from the brand's /oauth/token/, valid for an hour. The authorization code flow needs "
                "PKCE with S256. An application gets only the scopes an operator allowed it (else invalid_scope)."
            ),
            "flows": {
                "clientCredentials": {"tokenUrl": "/oauth/token/", "scopes": scopes},
                "authorizationCode": {
                    "authorizationUrl": "/oauth/authorize/",
                    "tokenUrl": "/oauth/token/",
                    "refreshUrl": "/oauth/token/",
                    "scopes": scopes,
                },
            },
        }


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


def cursor_parameters(orderings: tuple[str, ...], ordering_help: str) -> list[OpenApiParameter]:
    """The query parameters of a cursor-paginated list (apps/api/pagination.py)."""
    return [
        OpenApiParameter("cursor", str, description="Opaque: follow `next` and `previous`"),
        OpenApiParameter(
            "page_size",
            {"type": "integer", "minimum": 1, "maximum": 200},
            description="Items per page, default 50, at most 200",
        ),
        OpenApiParameter("ordering", {"type": "string", "enum": list(orderings)}, description=ordering_help),
    ]


CURSOR_PARAMETERS = cursor_parameters(
    ORDERINGS, "id: oldest first; -id: newest first. Default: the list's own order (see its description)"
)


BLANK = {"type": "string", "maxLength": 0}


def blank_alternatives_collapse(result, generator, request, public):
    """drf-spectacular describes a text field that may be blank as `oneOf: [<text>, <empty string>]`. When the text
    schema admits "" already (no minLength, a pattern that matches ""), "" matches both and breaks `oneOf`: a
    client (or schemathesis) reading the schema would take "" as invalid. Such a pair becomes the text schema."""

    def walk(node):
        if isinstance(node, dict):
            choices = node.get("oneOf")
            if isinstance(choices, list) and len(choices) == 2 and choices[1] == BLANK and _admits_blank(choices[0]):
                text = node.pop("oneOf")[0]
                node.update(text)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result


def _admits_blank(schema) -> bool:
    return (
        isinstance(schema, dict)
        and schema.get("type") == "string"
        and not schema.get("minLength")
        and ("pattern" not in schema or re.search(schema["pattern"], "") is not None)
    )
