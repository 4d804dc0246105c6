"""OCPI 2.2.1 hubclientinfo module, receiver (both roles): a partner (typically a hub) tells us whether a party is
CONNECTED, OFFLINE, PLANNED or SUSPENDED, at /ocpi/2.2.1/hubclientinfo/<country_code>/<party_id>.

No model of its own: a ClientInfo is kept in the partner's `roles` list. The role dict of the same party (and role)
gets `status` and `last_updated`; a party the partner did not list at registration (a hub's other parties) is added
at the end with `"hubclientinfo": true`, so a hub may then send that party's objects. Re-registration replaces
`roles`: the hub sends its ClientInfo again. The first role stays first (OCPI-to headers use it)."""

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import path

from apps.roaming.exceptions import RoamingError
from apps.roaming.models import Partner
from apps.roaming.transport import (
    CLIENT_ERROR,
    INVALID_PARAMETERS,
    envelope,
    ocpi_datetime_parse,
    ocpi_view,
    request_json,
)

CONNECTION_STATUSES = ("CONNECTED", "OFFLINE", "PLANNED", "SUSPENDED")
ROLES = ("CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP")


def _invalid(message: str) -> RoamingError:
    return RoamingError(message, status_code=INVALID_PARAMETERS)


def _same_party(role: dict, country_code: str, party_id: str) -> bool:
    return (
        str(role.get("country_code", "")).upper() == country_code.upper()
        and str(role.get("party_id", "")).upper() == party_id.upper()
    )


def client_info_validate(data: dict, *, country_code: str, party_id: str) -> None:
    """2001 naming the field when the ClientInfo is incomplete, has unknown values or another party's ids."""
    for name in ("party_id", "country_code", "role", "status", "last_updated"):
        if data.get(name) in (None, ""):
            raise _invalid(f"{name} is required")
    if not _same_party(data, country_code, party_id):
        raise _invalid("country_code/party_id do not match the URL")
    if data["role"] not in ROLES:
        raise _invalid(f"role must be one of {', '.join(ROLES)}")
    if data["status"] not in CONNECTION_STATUSES:
        raise _invalid(f"status must be one of {', '.join(CONNECTION_STATUSES)}")
    ocpi_datetime_parse(data["last_updated"], "last_updated")


def client_info_find(partner: Partner, *, country_code: str, party_id: str) -> dict | None:
    """The ClientInfo of a party as stored in the partner's roles (a party's first role that has a status)."""
    roles = [r for r in partner.roles if isinstance(r, dict) and _same_party(r, country_code, party_id)]
    known = next((role for role in roles if role.get("status")), None)
    if known is None:
        return None
    return {key: known[key] for key in ("party_id", "country_code", "role", "status", "last_updated")}


@transaction.atomic
def client_info_store(*, partner: Partner, data: dict) -> Partner:
    """Record a ClientInfo in the partner's roles (see the module's docstring)."""
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    roles = list(partner.roles)
    match = next(
        (
            role
            for role in roles
            if isinstance(role, dict)
            and _same_party(role, data["country_code"], data["party_id"])
            and role.get("role") == data["role"]
        ),
        None,
    )
    if match is None:
        match = {
            "role": data["role"],
            "country_code": data["country_code"],
            "party_id": data["party_id"],
            "hubclientinfo": True,
        }
        roles.append(match)
    match["status"] = data["status"]
    match["last_updated"] = data["last_updated"]
    partner.roles = roles
    partner.save(update_fields=["roles", "updated_at"])
    return partner


def partner_connected(partner: Partner) -> bool:
    """Whether the partner's own parties (those of its registration) are CONNECTED as far as a ClientInfo told us:
    False once one of them is reported OFFLINE, PLANNED or SUSPENDED. Only exposed: pushes do not consult it (the
    outbox retries while a partner is down)."""
    own = [role for role in partner.roles if isinstance(role, dict) and not role.get("hubclientinfo")]
    return all(role.get("status", "CONNECTED") == "CONNECTED" for role in own)


@ocpi_view(tokens={"C"})
def hubclientinfo(request: HttpRequest, partner: Partner, kind: str, country_code: str, party_id: str) -> HttpResponse:
    """GET the ClientInfo we hold for a party, PUT a new one. No OCPI-from/to headers (the module has none)."""
    if request.method not in ("GET", "PUT"):
        return HttpResponseNotAllowed(["GET", "PUT"])
    if partner.status != Partner.Status.REGISTERED:
        return envelope(status_code=CLIENT_ERROR, status_message="Not registered", http_status=405)
    if request.method == "GET":
        found = client_info_find(partner, country_code=country_code, party_id=party_id)
        if found is None:
            return envelope(status_code=CLIENT_ERROR, status_message="Unknown client", http_status=404)
        return envelope(found)
    data = request_json(request)
    client_info_validate(data, country_code=country_code, party_id=party_id)
    client_info_store(partner=partner, data=data)
    return envelope()


urlpatterns = [
    path("hubclientinfo/<str:country_code>/<str:party_id>", hubclientinfo, name="hubclientinfo"),
]
