"""Answers /healthz and /readyz on every host, before tenant resolution: probes come from load balancers by IP."""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import JsonResponse

from apps.health.probes import readiness


class HealthMiddleware:
    async_capable = True
    sync_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    async def __call__(self, request):
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            results = await readiness()
            ready = all(result.ok for result in results)
            body = {
                "status": "ok" if ready else "unavailable",
                "checks": {r.name: {"ok": r.ok, "detail": r.detail} for r in results},
            }
            return JsonResponse(body, status=200 if ready else 503)
        return await self.get_response(request)
