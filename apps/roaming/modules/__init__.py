"""The OCPI 2.2.1 functional modules, one file each, and what ties them to the rest of the app:

- `INTERFACES`: every interface we offer, which of our roles offers it, and where (version details list them);
- `PULL_STORES`: for a full or incremental pull from a partner's SENDER interface, the function that stores one
  object they sent (`store(*, partner, data)`; RoamingError 2001 naming the field when it is not valid);
- `EVENT_HANDLERS`: the platform's live events (apps.stations.live) each module pushes on, as
  `handler(*, station_id, at, data)`, called in the brand's schema when it has registered partners.

Every module file has `urlpatterns` (included by apps/roaming/urls.py under /ocpi/2.2.1/). Paths start with the
role, `cpo/` or `emsp/`, so a brand in both roles serves both sides of a module; hubclientinfo serves both roles.
"""

from dataclasses import dataclass
from importlib import import_module

MODULE_NAMES = ("locations", "sessions", "cdrs", "tariffs", "tokens", "commands", "chargingprofiles", "hubclientinfo")


@dataclass(frozen=True)
class Interface:
    identifier: str  # the OCPI ModuleID
    role: str  # OCPI InterfaceRole: SENDER or RECEIVER
    party_roles: tuple[str, ...]  # which of our roles offers it: CPO, EMSP
    path: str  # under /ocpi/2.2.1/


INTERFACES = (
    Interface("locations", "SENDER", ("CPO",), "cpo/locations"),
    Interface("locations", "RECEIVER", ("EMSP",), "emsp/locations"),
    Interface("sessions", "SENDER", ("CPO",), "cpo/sessions"),
    Interface("sessions", "RECEIVER", ("EMSP",), "emsp/sessions"),
    Interface("cdrs", "SENDER", ("CPO",), "cpo/cdrs"),
    Interface("cdrs", "RECEIVER", ("EMSP",), "emsp/cdrs"),
    Interface("tariffs", "SENDER", ("CPO",), "cpo/tariffs"),
    Interface("tariffs", "RECEIVER", ("EMSP",), "emsp/tariffs"),
    Interface("tokens", "SENDER", ("EMSP",), "emsp/tokens"),
    Interface("tokens", "RECEIVER", ("CPO",), "cpo/tokens"),
    Interface("commands", "SENDER", ("EMSP",), "emsp/commands"),
    Interface("commands", "RECEIVER", ("CPO",), "cpo/commands"),
    Interface("chargingprofiles", "SENDER", ("EMSP",), "emsp/chargingprofiles"),
    Interface("chargingprofiles", "RECEIVER", ("CPO",), "cpo/chargingprofiles"),
    Interface("hubclientinfo", "RECEIVER", ("CPO", "EMSP"), "hubclientinfo"),
)

# Pulls: module → "module_file.function" storing one object of a partner's SENDER list.
PULL_STORES = {
    "locations": "locations.location_store",
    "sessions": "sessions.session_store",
    "cdrs": "cdrs.cdr_store",
    "tariffs": "tariffs.tariff_store",
    "tokens": "tokens.token_store",
}

# Pushes: live event kind → "module_file.function" handlers.
EVENT_HANDLERS = {
    "station.status_changed": ("locations.status_changed_push",),
    "station.connected": ("locations.presence_changed_push",),
    "station.disconnected": ("locations.presence_changed_push",),
    "session.started": ("sessions.session_changed_push",),
    "session.updated": ("sessions.session_changed_push",),
    "session.ended": ("sessions.session_changed_push",),
    "cdr.created": ("cdrs.cdr_created_push",),
    "command.completed": ("commands.command_completed_answer", "chargingprofiles.command_completed_answer"),
}


def resolve(dotted: str):
    """The function of "module_file.function" in apps.roaming.modules; None while a module does not define it."""
    module_name, _, function_name = dotted.partition(".")
    return getattr(import_module(f"apps.roaming.modules.{module_name}"), function_name, None)


def interfaces_for(roles: list[str]) -> list[Interface]:
    return [interface for interface in INTERFACES if set(interface.party_roles) & set(roles)]
