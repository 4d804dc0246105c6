"""Reads of the brand's roaming identity and partners."""

from django.db.models import QuerySet

from apps.billing.models import Invoice
from apps.roaming.models import Partner, PartnerCdr, PartnerLocation, PartnerObject, PartnerSession, RoamingSettings
from apps.roaming.modules import interfaces_for
from apps.sessions.models import IdToken

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


# --- our drivers' sessions at partners' stations (we are the eMSP) -----------------------------------------------


def partner_sessions_of_owner(*, user) -> QuerySet[PartnerSession]:
    """A driver's sessions at other networks' stations: the CPOs' sessions charged with the driver's tokens."""
    uids = IdToken.objects.filter(owner=user).values("uid")
    return PartnerSession.objects.filter(token_uid__in=uids).select_related("partner")


def partner_session_locations(sessions: list[PartnerSession]) -> dict[tuple, PartnerLocation]:
    """The CPOs' locations of `sessions`, by (partner, party, location id): one query for a page."""
    wanted = {(s.partner_id, s.country_code, s.party_id, str(s.data.get("location_id", ""))) for s in sessions}
    found = PartnerLocation.objects.filter(
        partner_id__in={key[0] for key in wanted}, object_id__in={key[3] for key in wanted}
    )
    return {
        key: location
        for location in found
        if (key := (location.partner_id, location.country_code, location.party_id, location.object_id)) in wanted
    }


def partner_session_receipts(sessions: list[PartnerSession]) -> dict[int, Invoice]:
    """The driver's receipt of each session (its CDR's, not credited) by session pk, once the CPO's CDR came and
    was billed: one query for a page."""
    keys = {(s.partner_id, s.country_code, s.party_id, s.object_id): s.pk for s in sessions}
    cdrs = (
        PartnerCdr.objects.filter(
            partner_id__in={s.partner_id for s in sessions},
            session_id__in={s.object_id for s in sessions},
            credit=False,
            invoice__isnull=False,
        )
        .exclude(invoice__status=Invoice.Status.CREDITED)
        .select_related("invoice")
        .order_by("pk")  # the latest CDR of a session wins
    )
    receipts = {}
    for cdr in cdrs:
        session_pk = keys.get((cdr.partner_id, cdr.country_code, cdr.party_id, cdr.session_id))
        if session_pk is not None:
            receipts[session_pk] = cdr.invoice
    return receipts
