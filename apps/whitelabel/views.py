"""Pages of the white-label layer."""

from django.shortcuts import render


def unknown_host(request):
    """A host that is no tenant's domain: a plain 404 that reveals nothing about the platform's tenants."""
    return render(request, "whitelabel/unknown_host.html", status=404)
