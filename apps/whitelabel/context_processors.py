"""Template context: the current tenant's branding, loaded only by pages that use it."""

from django.utils.functional import SimpleLazyObject

from apps.whitelabel.models import Branding


def branding(request) -> dict:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {"branding": None}
    return {"branding": SimpleLazyObject(lambda: Branding.objects.filter(tenant_id=tenant.pk).first())}
