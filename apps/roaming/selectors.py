"""Reads of the brand's roaming identity and partners."""

from apps.roaming.models import Partner, PartnerObject, RoamingSettings
from apps.roaming.modules import interfaces_for

VERSION = "2.2.1"


def roaming_settings_get() -> RoamingSettings:
    return RoamingSettings.objects.get()


def partner_get(*, name: str) -> Partner:
    return Partner.objects.get(name=name)


def partner_object_party(model: type[PartnerObject], *, partner: Partner, object_id: str) -> tuple[str, str] | None:
    """The party that owns one of the partner's objects (a location, a session): whom a request about it is for,
    a party behind the partner's hub too. None when we hold no such object."""
    found = model.objects.filter(partner=partner, object_id=str(object_id)).values_list("country_code", "party_id")
    return found.first()


def versions_list(*, roaming_settings: RoamingSettings) -> list[dict]:
    return [{"version": VERSION, "url": version_details_url(roaming_settings=roaming_settings)}]


def version_details_url(*, roaming_settings: RoamingSettings) -> str:
    return roaming_settings.public_url.rstrip("/") + f"/ocpi/{VERSION}/"


def version_details(*, roaming_settings: RoamingSettings) -> dict:
    base = version_details_url(roaming_settings=roaming_settings)
    endpoints = [
        {"identifier": "credentials", "role": role, "url": base + "credentials"} for role in ("SENDER", "RECEIVER")
    ]
    endpoints += [
        {"identifier": interface.identifier, "role": interface.role, "url": base + interface.path}
        for interface in interfaces_for(roaming_settings.roles)
    ]
    return {"version": VERSION, "endpoints": endpoints}


def credentials_of(*, roaming_settings: RoamingSettings, token: str) -> dict:
    """Our credentials object, carrying `token` (the one the other party will call us with)."""
    return {
        "token": token,
        "url": roaming_settings.versions_url,
        "roles": [
            {
                "role": role,
                "party_id": roaming_settings.party_id,
                "country_code": roaming_settings.country_code,
                "business_details": {"name": roaming_settings.business_name},
            }
            for role in roaming_settings.roles
        ],
    }


def push_partners(module: str, *, among: list[Partner] | None = None) -> list[Partner]:
    """Registered partners playing EMSP that offer `module`'s RECEIVER interface: who gets our pushes (of
    `among`, when given)."""
    partners = Partner.objects.filter(status=Partner.Status.REGISTERED).order_by("pk")
    if among is not None:
        partners = partners.filter(pk__in=[partner.pk for partner in among])
    return [
        partner
        for partner in partners
        if partner.endpoint_url(module, "RECEIVER")
        and any(isinstance(role, dict) and role.get("role") == "EMSP" for role in partner.roles)
    ]


def cpo_roaming_settings() -> RoamingSettings | None:
    """The brand's settings while it plays CPO (pushes of our objects), else None."""
    roaming_settings = RoamingSettings.objects.first()
    return roaming_settings if roaming_settings and "CPO" in roaming_settings.roles else None
