"""A suspended brand's hosts answer 503: an HTML page for browsers, the API's error format under /api/v1/."""

from django.http import JsonResponse
from django.shortcuts import render

API_PREFIX = "/api/v1/"
SUSPENDED_CODE = "tenant_suspended"


class SuspendedTenantMiddleware:
    """Right after django-tenants' middleware, which has loaded the Host's tenant row for this request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is None or getattr(tenant, "suspended_at", None) is None:
            return self.get_response(request)
        if request.path.startswith(API_PREFIX):
            message = f"The service of {tenant.name} is suspended."
            body = {"error": {"code": SUSPENDED_CODE, "message": message, "fields": {}}}
            response = JsonResponse(body, status=503)
        else:
            response = render(request, "whitelabel/suspended.html", {"name": tenant.name}, status=503)
        # Deliberate, not a server error: Django would log every such request as one.
        response._has_been_logged = True
        return response
