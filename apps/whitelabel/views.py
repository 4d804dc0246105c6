"""Pages of the white-label layer."""

from django.shortcuts import render
from django.utils import translation


def unknown_host(request):
    """A host that is no tenant's domain: a plain 404 that reveals nothing about the platform's tenants.

    It is answered before the locale middleware runs, so it picks the browser's language itself."""
    with translation.override(translation.get_language_from_request(request)):
        return render(request, "whitelabel/unknown_host.html", status=404)
