"""The OCPI 2.2.1 edge of the configuration modules: versions, version details and credentials. Functional modules
are in apps/roaming/modules/; the rules every view follows in transport.py."""

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from apps.roaming.models import Partner
from apps.roaming.selectors import credentials_of, roaming_settings_get, version_details, versions_list
from apps.roaming.services import partner_registration_accept, partner_registration_delete
from apps.roaming.transport import envelope, ocpi_view, request_json


@ocpi_view(tokens={"A", "C"})
def versions(request: HttpRequest, partner: Partner, kind: str) -> HttpResponse:
    return envelope(versions_list(roaming_settings=roaming_settings_get()))


@ocpi_view(tokens={"A", "C"})
def version_221(request: HttpRequest, partner: Partner, kind: str) -> HttpResponse:
    return envelope(version_details(roaming_settings=roaming_settings_get()))


@ocpi_view(tokens={"A", "C"})
def credentials(request: HttpRequest, partner: Partner, kind: str) -> HttpResponse:
    if request.method not in {"GET", "POST", "PUT", "DELETE"}:
        return HttpResponseNotAllowed(["GET", "POST", "PUT", "DELETE"])
    if request.method == "POST":
        # Only a token A registers; a registered partner's token C gets 405 (already registered).
        if kind == "C" and partner.status != Partner.Status.REGISTERED:
            return envelope(status_code=2000, status_message="Register with the token A", http_status=401)
        return envelope(partner_registration_accept(partner=partner, credentials=request_json(request)))
    if kind == "A":
        # Token A is only for registering: PUT/DELETE on a partner not registered → 405, GET → 401.
        if request.method in {"PUT", "DELETE"}:
            return envelope(status_code=2000, status_message="Not registered", http_status=405)
        return envelope(status_code=2000, status_message="Unknown or missing token", http_status=401)
    if request.method == "GET":
        # Our credentials carry the token they call us with: we keep only its hash, so it is the one they sent.
        return envelope(credentials_of(roaming_settings=roaming_settings_get(), token=request.ocpi_token))
    if request.method == "PUT":
        return envelope(partner_registration_accept(partner=partner, credentials=request_json(request), update=True))
    partner_registration_delete(partner=partner)
    return envelope()
