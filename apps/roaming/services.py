"""Registration with roaming partners (OCPI 2.2.1 credentials module), both directions."""

import secrets

from django.db import transaction

from apps.roaming.client import ocpi_request
from apps.roaming.exceptions import EndpointsMissingError, NotAllowedError, RoamingError, UnsupportedVersionError
from apps.roaming.models import Partner, PartnerObject, token_hash
from apps.roaming.outbox import outbox_wake
from apps.roaming.selectors import VERSION, credentials_of, roaming_settings_get
from apps.roaming.transport import ocpi_datetime_parse


def token_new() -> str:
    return secrets.token_urlsafe(32)


def _inbound_token_set(partner: Partner, token: str) -> None:
    partner.token_c_hash = token_hash(token)
    partner.token_c_prefix = token[:8]


@transaction.atomic
def partner_create(
    *, name: str, versions_url: str = "", token: str = "", tokens_base64: bool = True
) -> tuple[Partner, str]:
    """A partner to register with. Either they register with us: we issue a token A (returned, shown once, stored
    hashed); or we register with them: `versions_url` and the `token` A they gave us out of band."""
    partner = Partner(name=name, versions_url=versions_url, tokens_base64=tokens_base64, token_b=token)
    token_a = ""
    if not token:
        token_a = token_new()
        partner.token_a_hash = token_hash(token_a)
    partner.save()
    return partner, token_a


def partner_version_fetch(*, versions_url: str, token: str, base64_encoded: bool) -> tuple[str, list[dict]]:
    """Their 2.2.1 details URL and endpoints: 3002 without 2.2.1, 3003 without a credentials endpoint."""
    versions = ocpi_request("GET", versions_url, token=token, base64_encoded=base64_encoded) or []
    details_url = next((v.get("url") for v in versions if isinstance(v, dict) and v.get("version") == VERSION), None)
    if not details_url:
        raise UnsupportedVersionError(f"The partner does not offer OCPI {VERSION}")
    details = ocpi_request("GET", details_url, token=token, base64_encoded=base64_encoded) or {}
    endpoints = [e for e in details.get("endpoints") or [] if isinstance(e, dict)]
    if not any(e.get("identifier") == "credentials" for e in endpoints):
        raise EndpointsMissingError("The partner's version details have no credentials endpoint")
    return VERSION, endpoints


def _credentials_validate(body: dict) -> None:
    if not isinstance(body.get("token"), str) or not body["token"] or not isinstance(body.get("url"), str):
        raise RoamingError("credentials need a token and a url", status_code=2001)
    if not isinstance(body.get("roles"), list):
        raise RoamingError("credentials need roles", status_code=2001)


def partner_registration_accept(*, partner: Partner, credentials: dict, update: bool = False) -> dict:
    """They register with us (POST, token A) or update their registration (PUT, token C): we fetch their versions
    with the token they sent, store their endpoints and roles, issue a new token C and answer our credentials."""
    if update and partner.status != Partner.Status.REGISTERED:
        raise NotAllowedError("Not registered: register with POST first")
    if not update and partner.status == Partner.Status.REGISTERED:
        raise NotAllowedError("Already registered: use PUT to update or DELETE to unregister")
    _credentials_validate(credentials)
    # No transaction around the calls out: they may call us back, and must see what is committed.
    version, endpoints = partner_version_fetch(
        versions_url=credentials["url"], token=credentials["token"], base64_encoded=partner.tokens_base64
    )
    token_c = token_new()
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        # Two POSTs with the same token A may have raced through the calls out: only the first registers.
        if (partner.status == Partner.Status.REGISTERED) != update:
            raise NotAllowedError("Already registered" if not update else "Not registered")
        partner.versions_url = credentials["url"]
        partner.version = version
        partner.endpoints = endpoints
        partner.roles = credentials["roles"]
        partner.token_b = credentials["token"]
        _inbound_token_set(partner, token_c)
        partner.token_a_hash = ""  # token A is spent
        partner.status = Partner.Status.REGISTERED
        partner.save()
        outbox_wake(partner=partner)
    return credentials_of(roaming_settings=roaming_settings_get(), token=token_c)


@transaction.atomic
def partner_registration_delete(*, partner: Partner) -> None:
    """They unregister (DELETE): their token stops working."""
    if partner.status != Partner.Status.REGISTERED:
        raise NotAllowedError("Not registered")
    partner.status = Partner.Status.UNREGISTERED
    partner.token_c_hash = partner.token_c_prefix = partner.token_b = ""
    partner.save()


def _register(*, partner: Partner, method: str) -> Partner:
    version, endpoints = partner_version_fetch(
        versions_url=partner.versions_url, token=partner.token_b, base64_encoded=partner.tokens_base64
    )
    credentials_url = next(
        (e["url"] for e in endpoints if e.get("identifier") == "credentials" and e.get("role") == "RECEIVER"),
        next(e["url"] for e in endpoints if e.get("identifier") == "credentials"),
    )
    # Our new token must be known (committed) before we send it: they call our versions with it while answering.
    token_ours = token_new()
    previous_hash, previous_prefix = partner.token_c_hash, partner.token_c_prefix
    _inbound_token_set(partner, token_ours)
    partner.save(update_fields=["token_c_hash", "token_c_prefix", "updated_at"])
    try:
        answer = (
            ocpi_request(
                method,
                credentials_url,
                token=partner.token_b,
                base64_encoded=partner.tokens_base64,
                body=credentials_of(roaming_settings=roaming_settings_get(), token=token_ours),
            )
            or {}
        )
        _credentials_validate(answer)
    except RoamingError:
        partner.token_c_hash, partner.token_c_prefix = previous_hash, previous_prefix
        partner.save(update_fields=["token_c_hash", "token_c_prefix", "updated_at"])
        raise
    with transaction.atomic():
        partner.version = version
        partner.endpoints = endpoints
        partner.roles = answer["roles"]
        partner.token_b = answer["token"]
        partner.versions_url = answer["url"] or partner.versions_url
        partner.status = Partner.Status.REGISTERED
        partner.save()
        outbox_wake(partner=partner)
    return partner


def partner_register(*, partner: Partner) -> Partner:
    """We register with them: with the token A they gave us (in `token_b`), GET their versions and details, POST our
    credentials with a new token for them to call us; they answer with the token we call them with."""
    if partner.status == Partner.Status.REGISTERED:
        raise NotAllowedError("Already registered")
    return _register(partner=partner, method="POST")


def partner_credentials_rotate(*, partner: Partner) -> Partner:
    """PUT our credentials with a new token for them; they answer with a new token for us."""
    if partner.status != Partner.Status.REGISTERED:
        raise NotAllowedError("Not registered")
    return _register(partner=partner, method="PUT")


def partner_unregister(*, partner: Partner) -> Partner:
    """DELETE our registration with them; neither side's tokens work afterwards."""
    if partner.status != Partner.Status.REGISTERED:
        raise NotAllowedError("Not registered")
    credentials_url = partner.endpoint_url("credentials", "RECEIVER") or partner.endpoint_url("credentials", "SENDER")
    if not credentials_url:
        raise EndpointsMissingError("No credentials endpoint known for the partner")
    ocpi_request("DELETE", credentials_url, token=partner.token_b, base64_encoded=partner.tokens_base64)
    with transaction.atomic():
        partner.status = Partner.Status.UNREGISTERED
        partner.token_c_hash = partner.token_c_prefix = partner.token_b = ""
        partner.save()
    return partner


def partner_object_save(model: type[PartnerObject], *, partner: Partner, data: dict) -> PartnerObject:
    """Create or replace an object a partner sent (a location, a tariff…) as sent, keyed by its party and id;
    validated by the caller."""
    stored, _ = model.objects.update_or_create(
        partner=partner,
        country_code=str(data["country_code"]).upper(),
        party_id=str(data["party_id"]).upper(),
        object_id=str(data["id"]),
        defaults={"data": data, "last_updated": ocpi_datetime_parse(data["last_updated"], "last_updated")},
    )
    return stored
