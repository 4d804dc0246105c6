"""One error format for the whole API: {"error": {"code", "message", "fields"}}, whatever went wrong."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.views import exception_handler

VALIDATION_MESSAGE = "The request is not valid."


def api_exception_handler(exc, context):
    """DRF's handler builds the response (status, WWW-Authenticate, Retry-After); this replaces its body."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # Not an API error: a bug, left to Django's 500 handling and logging.
    # An error may add keys of its own to the error object (e.g. the other brand of an EVSE code).
    response.data = {"error": {**error_body(exc), **getattr(exc, "error_extra", {})}}
    return response


def error_body(exc: exceptions.APIException) -> dict:
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(exc.detail, dict):
            return {"code": "invalid", "message": VALIDATION_MESSAGE, "fields": _fields(exc.detail)}
        messages = _messages(exc.detail)
        return {"code": "invalid", "message": " ".join(messages) or VALIDATION_MESSAGE, "fields": {}}
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    return {"code": code, "message": str(exc.detail), "fields": {}}


def _fields(detail: dict) -> dict:
    return {name: _fields(value) if isinstance(value, dict) else _messages(value) for name, value in detail.items()}


def _messages(detail) -> list[str]:
    if isinstance(detail, list):
        return [message for item in detail for message in _messages(item)]
    if isinstance(detail, dict):
        return [f"{name}: {message}" for name, value in detail.items() for message in _messages(value)]
    return [str(detail)]


API_PREFIX = "/api/v1/"


class RepeatedQueryParameterMiddleware:
    """No parameter of the API takes several values (lists are comma-separated, like `measurand`): one given twice
    is refused with a 400 naming it, not silently cut to its last value."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            repeated = sorted(name for name, values in request.GET.lists() if len(values) > 1)
            if repeated:
                fields = {name: ["Give this parameter once."] for name in repeated}
                body = {"code": "invalid", "message": VALIDATION_MESSAGE, "fields": fields}
                return JsonResponse({"error": body}, status=400)
        return self.get_response(request)
