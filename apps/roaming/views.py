"""The OCPI 2.2.1 edge: versions, version details, credentials and locations (CPO sender). Rules in transport.py."""

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from apps.roaming import locations as locations_map
from apps.roaming.models import Partner, RoamingSettings
from apps.roaming.pagination import page_from, page_headers
from apps.roaming.selectors import credentials_of, roaming_settings_get, version_details, versions_list
from apps.roaming.services import partner_registration_accept, partner_registration_delete
from apps.roaming.transport import UNKNOWN_LOCATION, envelope, ocpi_view, request_json


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


def _party_headers(response: HttpResponse, partner: Partner, roaming_settings: RoamingSettings) -> HttpResponse:
    """OCPI-from/to headers, on functional modules' answers: from us to the partner's first role."""
    response["OCPI-from-country-code"] = roaming_settings.country_code
    response["OCPI-from-party-id"] = roaming_settings.party_id
    role = next((role for role in partner.roles if isinstance(role, dict)), {})
    if role.get("country_code") and role.get("party_id"):
        response["OCPI-to-country-code"] = role["country_code"]
        response["OCPI-to-party-id"] = role["party_id"]
    return response


def _unknown_location() -> HttpResponse:
    # GET on a resource that does not exist: HTTP 404 (status codes §), 2003 in the envelope.
    return envelope(status_code=UNKNOWN_LOCATION, status_message="Unknown location", http_status=404)


@ocpi_view(tokens={"C"})
def locations(request: HttpRequest, partner: Partner, kind: str, **ids: str) -> HttpResponse:
    """GET the list (paginated), a location, an EVSE or a connector; unknown objects are 2003 with HTTP 404."""
    parts = [ids[name] for name in ("location_id", "evse_uid", "connector_id") if name in ids]
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    roaming_settings = roaming_settings_get()
    if "CPO" not in roaming_settings.roles:
        return envelope(status_code=2000, status_message="Not a CPO", http_status=404)
    published = locations_map.published_locations()
    if not parts:
        page = page_from(request)
        if page.date_from:
            published = published.filter(last_updated__gte=page.date_from)
        if page.date_to:
            published = published.filter(last_updated__lt=page.date_to)
        total = published.count()
        data = [
            locations_map.location_object(location, roaming_settings=roaming_settings)
            for location in published[page.offset : page.offset + page.limit]
        ]
        response = page_headers(envelope(data), request=request, page=page, total=total)
        return _party_headers(response, partner, roaming_settings)
    location = published.filter(pk=int(parts[0])).first() if parts[0].isdigit() else None
    if location is None:
        return _party_headers(_unknown_location(), partner, roaming_settings)
    if len(parts) == 1:
        data = locations_map.location_object(location, roaming_settings=roaming_settings)
        return _party_headers(envelope(data), partner, roaming_settings)
    found = locations_map.evse_find(location, parts[1])
    if found is None:
        return _party_headers(_unknown_location(), partner, roaming_settings)
    evse, station = found
    if len(parts) == 2:
        return _party_headers(envelope(locations_map.evse_object(evse, station)), partner, roaming_settings)
    connector = next((c for c in evse.connectors.all() if str(c.connector_id) == parts[2]), None)
    if connector is None:
        return _party_headers(_unknown_location(), partner, roaming_settings)
    return _party_headers(envelope(locations_map.connector_object(connector, station)), partner, roaming_settings)
