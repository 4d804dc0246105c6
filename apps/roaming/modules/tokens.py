"""OCPI 2.2.1 tokens module, both sides.

- eMSP, sender (`emsp/tokens`): our drivers' tokens as OCPI Tokens, listed and authorized in real time; a token
  created or changed is PUT to every registered CPO partner with a tokens receiver (through the outbox).
- CPO, receiver (`cpo/tokens/<cc>/<pid>/<uid>`): an eMSP partner's tokens, kept as PartnerTokens, and the
  authorizer (apps.sessions.authorizers) that lets their drivers charge at our stations: from the cached token
  (whitelist ALWAYS, a real-time answer less than two minutes old) or by asking the eMSP in real time.

Choices (docs/roaming/tokens-commands.md): a token's last_updated is its `updated_at` (its last edit); a token
deleted, or whose uid or type changed, is PUT once more under its old uid with valid false, so no CPO keeps letting
it charge; blocking a group token pushes its members too; guest and NoAuthorization tokens do not roam."""

import logging
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.billing.ocpi import ocpi_datetime
from apps.roaming.client import partner_call
from apps.roaming.exceptions import PartnerRefusedError, RoamingError
from apps.roaming.models import Partner, PartnerToken, RoamingSettings
from apps.roaming.modules.locations import evse_uid
from apps.roaming.outbox import outbox_push
from apps.roaming.pagination import page_answer
from apps.roaming.receivers import has_registered_partners
from apps.roaming.transport import (
    INVALID_PARAMETERS,
    UNKNOWN_TOKEN,
    envelope,
    ocpi_module_view,
    partner_is_hub,
    partner_is_party,
    request_json,
)
from apps.sessions.authorizers import authorizer_register, local_list_source_register
from apps.sessions.models import GuestAccess, IdToken
from apps.sessions.selectors import LocalListEntry
from apps.sessions.services import CONCURRENT_TX, Authorization, id_token_authorize
from apps.stations.models import Station

logger = logging.getLogger(__name__)

# OCPI TokenType of each of our IdToken types; NoAuthorization (AD_HOC_USER) does not roam.
TOKEN_TYPE = {
    IdToken.Type.ISO14443: "RFID",
    IdToken.Type.ISO15693: "RFID",
    IdToken.Type.CENTRAL: "APP_USER",
    IdToken.Type.EMAID: "OTHER",
    IdToken.Type.KEY_CODE: "OTHER",
    IdToken.Type.LOCAL: "OTHER",
    IdToken.Type.MAC_ADDRESS: "OTHER",
}
TOKEN_TYPES = ("AD_HOC_USER", "APP_USER", "OTHER", "RFID")
WHITELISTS = ("ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER")
# Our authorization statuses → OCPI AllowedType (ConcurrentTx: the card is charging elsewhere with us).
ALLOWED = {
    IdToken.Status.ACCEPTED: "ALLOWED",
    IdToken.Status.BLOCKED: "BLOCKED",
    IdToken.Status.EXPIRED: "EXPIRED",
    IdToken.Status.INVALID: "NOT_ALLOWED",
    CONCURRENT_TX: "NOT_ALLOWED",
}
# An eMSP's AllowedType → the station's authorization status (only statuses both OCPP versions know).
AUTHORIZATION_STATUS = {
    "ALLOWED": "Accepted",
    "BLOCKED": "Blocked",
    "EXPIRED": "Expired",
    "NO_CREDIT": "Invalid",
    "NOT_ALLOWED": "Invalid",
}
# The 1.6 flow is Authorize then StartTransaction: one real-time answer serves both.
REALTIME_REUSE = timedelta(minutes=2)
AUTHORIZE_TIMEOUT_SECONDS = 5


def _invalid(message: str) -> RoamingError:
    return RoamingError(message, status_code=INVALID_PARAMETERS)


def _unknown_token() -> HttpResponse:
    return envelope(status_code=UNKNOWN_TOKEN, status_message="Unknown token", http_status=404)


def _type_param(request: HttpRequest) -> str:
    token_type = request.GET.get("type", "RFID")
    if token_type not in TOKEN_TYPES:
        raise _invalid(f"type must be one of {', '.join(TOKEN_TYPES)}")
    return token_type


def _plays(partner: Partner, role: str) -> bool:
    return any(isinstance(r, dict) and r.get("role") == role for r in partner.roles)


# --- eMSP, sender: our drivers' tokens ----------------------------------------------------------------------------


def roaming_tokens() -> QuerySet[IdToken]:
    """Our tokens that roam: not a guest's (a one-day token of the driver app) and not NoAuthorization."""
    return (
        IdToken.objects.exclude(type=IdToken.Type.NO_AUTHORIZATION)
        .filter(guest_access__isnull=True)
        .select_related("group", "owner")
        .order_by("pk")
    )


def _valid(token: IdToken, now: datetime) -> bool:
    """Whether the token itself may charge (status and expiry, its group's too); sessions it has going are
    id_token_authorize's business at authorization time."""
    for candidate in filter(None, [token, token.group]):
        if candidate.status != IdToken.Status.ACCEPTED:
            return False
        if candidate.expires_at is not None and candidate.expires_at <= now:
            return False
    return True


def contract_id(token: IdToken, *, roaming_settings: RoamingSettings) -> str:
    """The eMAID itself for an eMAID token; else "<CC>-<PID>-C<uid>" in the eMAID style, or the uid when that
    would pass OCPI's 36 characters."""
    if token.type == IdToken.Type.EMAID:
        return token.uid
    candidate = f"{roaming_settings.country_code}-{roaming_settings.party_id}-C{token.uid}"
    return candidate if len(candidate) <= 36 else token.uid


def token_object(token: IdToken, *, roaming_settings: RoamingSettings) -> dict:
    data = {
        "country_code": roaming_settings.country_code,
        "party_id": roaming_settings.party_id,
        "uid": token.uid,
        "type": TOKEN_TYPE[token.type],
        "contract_id": contract_id(token, roaming_settings=roaming_settings),
        "issuer": roaming_settings.business_name[:64],
        "valid": _valid(token, timezone.now()),
        "whitelist": "ALLOWED",
        "last_updated": ocpi_datetime(token.updated_at),
    }
    if token.label:
        data["visual_number"] = token.label[:64]
    if token.group is not None:
        data["group_id"] = token.group.uid
    if token.owner is not None and token.owner.locale:
        data["language"] = token.owner.locale[:2].lower()
    return data


def _our_tokens_of_type(token_type: str) -> QuerySet[IdToken]:
    types = [ours for ours, theirs in TOKEN_TYPE.items() if theirs == token_type]
    return roaming_tokens().filter(type__in=types)


@ocpi_module_view(role="EMSP", methods=("GET",))
def emsp_tokens_list(request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings) -> HttpResponse:
    """Our tokens, paginated; the dates filter on the token's last edit."""
    return page_answer(
        request,
        roaming_tokens(),
        date_field="updated_at",
        render=lambda tokens: [token_object(token, roaming_settings=roaming_settings) for token in tokens],
    )


def _location_references_check(body: dict | None) -> None:
    if body is None:
        return
    if not isinstance(body.get("location_id"), str) or not body["location_id"]:
        raise _invalid("location_id is required in LocationReferences")
    evse_uids = body.get("evse_uids", [])
    if not isinstance(evse_uids, list) or not all(isinstance(uid, str) for uid in evse_uids):
        raise _invalid("evse_uids must be a list of strings")


@ocpi_module_view(role="EMSP", methods=("POST",))
def emsp_token_authorize(
    request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings, uid: str
) -> HttpResponse:
    """Real-time authorization of one of our tokens at a CPO partner's station, by our own rules
    (id_token_authorize); the authorization reference is new each time and not kept."""
    token_type = _type_param(request)
    _location_references_check(request_json(request) if request.body else None)
    token = _our_tokens_of_type(token_type).filter(uid__iexact=uid).first()
    if token is None:
        return _unknown_token()
    authorization = id_token_authorize(uid=token.uid, type=token.type, station_id=None)
    allowed = ALLOWED.get(authorization.status, "NOT_ALLOWED")
    data = {
        "allowed": allowed,
        "token": token_object(token, roaming_settings=roaming_settings),
        "authorization_reference": uuid.uuid4().hex,
    }
    if authorization.status == CONCURRENT_TX:
        data["info"] = {"language": "en", "text": "This token is charging in another session."}
    return envelope(data)


def _token_receivers() -> list[Partner]:
    return [
        partner
        for partner in Partner.objects.filter(status=Partner.Status.REGISTERED).order_by("pk")
        if _plays(partner, "CPO") and partner.endpoint_url("tokens", "RECEIVER")
    ]


def _token_put(data: dict, roaming_settings: RoamingSettings, partners: list[Partner]) -> int:
    target = f"/{roaming_settings.country_code}/{roaming_settings.party_id}/{quote(data['uid'], safe='')}"
    for partner in partners:
        outbox_push(partner=partner, module="tokens", method="PUT", path=f"{target}?type={data['type']}", body=data)
    return len(partners)


def _emsp_settings() -> RoamingSettings | None:
    roaming_settings = RoamingSettings.objects.first()
    if roaming_settings is None or RoamingSettings.Role.EMSP not in roaming_settings.roles:
        return None
    return roaming_settings


def token_changed_push(*, id_token_id: int) -> int:
    """PUT one of our tokens, and the tokens of the group it is when it is one, to every registered CPO partner
    with a tokens receiver; how many pushes."""
    roaming_settings = _emsp_settings()
    if roaming_settings is None:
        return 0
    partners = _token_receivers()
    if not partners:
        return 0
    tokens = roaming_tokens().filter(Q(pk=id_token_id) | Q(group_id=id_token_id))
    return sum(
        _token_put(token_object(token, roaming_settings=roaming_settings), roaming_settings, partners)
        for token in tokens
    )


def token_withdrawn_push(*, uid: str, token_type: str) -> int:
    """PUT a token that no longer exists under this uid and type (deleted, or renamed) with valid false, so a CPO
    holding it in its cache or whitelist stops letting it charge; how many pushes."""
    roaming_settings = _emsp_settings()
    if roaming_settings is None or token_type == IdToken.Type.NO_AUTHORIZATION:
        return 0
    partners = _token_receivers()
    if not partners:
        return 0
    withdrawn = IdToken(uid=uid, type=token_type, status=IdToken.Status.INVALID, updated_at=timezone.now())
    data = token_object(withdrawn, roaming_settings=roaming_settings)
    return _token_put(data, roaming_settings, partners)


@receiver(pre_save, sender=IdToken, dispatch_uid="roaming.tokens.renamed")
def id_token_saving(sender, instance: IdToken, update_fields=None, **kwargs) -> None:
    """Remember the uid and type the token had, when they may change (one query, only with partners)."""
    if instance.pk is None or not has_registered_partners(connection.schema_name):
        return
    if update_fields is not None and not {"uid", "type"} & set(update_fields):
        return
    instance._roaming_was = IdToken.objects.filter(pk=instance.pk).values_list("uid", "type").first()


@receiver(post_save, sender=IdToken, dispatch_uid="roaming.tokens.push")
def id_token_saved(sender, instance: IdToken, **kwargs) -> None:
    # Cheap without partners; on commit, so a guest token is seen with its GuestAccess and a rollback pushes nothing.
    if not has_registered_partners(connection.schema_name):
        return
    id_token_id = instance.pk
    was = instance.__dict__.pop("_roaming_was", None)
    if was is not None and was != (instance.uid, instance.type):
        uid, token_type = was
        transaction.on_commit(lambda: token_withdrawn_push(uid=uid, token_type=token_type))
    transaction.on_commit(lambda: token_changed_push(id_token_id=id_token_id))


@receiver(pre_delete, sender=IdToken, dispatch_uid="roaming.tokens.deleted")
def id_token_deleting(sender, instance: IdToken, **kwargs) -> None:
    """Before its guest access goes with it: a guest's token never roamed. Sent inside the deletion's transaction,
    so the push waits for its commit."""
    if not has_registered_partners(connection.schema_name):
        return
    if GuestAccess.objects.filter(id_token=instance).exists():
        return
    uid, token_type = instance.uid, instance.type
    transaction.on_commit(lambda: token_withdrawn_push(uid=uid, token_type=token_type))


# --- CPO, receiver: an eMSP partner's tokens ----------------------------------------------------------------------


def _text(data: dict, name: str, max_length: int, *, required: bool = True) -> None:
    value = data.get(name)
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value) or len(value) > max_length:
        raise _invalid(f"{name} is required, a string of at most {max_length} characters")


def token_validate(data: object) -> datetime:
    """Check an OCPI Token; its last_updated. RoamingError 2001 naming the field."""
    if not isinstance(data, dict):
        raise _invalid("token must be an object")
    _text(data, "country_code", 2)
    _text(data, "party_id", 3)
    _text(data, "uid", 36)
    _text(data, "contract_id", 36)
    _text(data, "issuer", 64)
    _text(data, "visual_number", 64, required=False)
    _text(data, "group_id", 36, required=False)
    _text(data, "language", 2, required=False)
    if data.get("type") not in TOKEN_TYPES:
        raise _invalid(f"type must be one of {', '.join(TOKEN_TYPES)}")
    if data.get("whitelist") not in WHITELISTS:
        raise _invalid(f"whitelist must be one of {', '.join(WHITELISTS)}")
    if not isinstance(data.get("valid"), bool):
        raise _invalid("valid is required, true or false")
    last_updated = parse_datetime(data["last_updated"]) if isinstance(data.get("last_updated"), str) else None
    if last_updated is None:
        raise _invalid("last_updated is required, an ISO 8601 date-time")
    return last_updated if last_updated.tzinfo else last_updated.replace(tzinfo=UTC)


def token_store(*, partner: Partner, data: dict) -> PartnerToken:
    """Store (insert or replace) a partner's Token as they sent it; RoamingError 2001 when it is not valid or not
    theirs. Used by PUT, PATCH, pulls, START_SESSION and real-time answers."""
    last_updated = token_validate(data)
    if not partner_is_party(partner, data["country_code"], data["party_id"]):
        raise _invalid("country_code/party_id: not a party of this partner")
    token, _ = PartnerToken.objects.update_or_create(
        partner=partner,
        country_code=data["country_code"].upper(),
        party_id=data["party_id"].upper(),
        object_id=data["uid"],
        type=data["type"],
        defaults={
            "data": data,
            "last_updated": last_updated,
            "contract_id": data["contract_id"],
            "valid": data["valid"],
            "whitelist": data["whitelist"],
            "group_id": data.get("group_id") or "",
        },
    )
    return token


def partner_token_find(*, uid: str, type: str = "") -> PartnerToken | None:
    """A registered partner's token with this uid (case-insensitive), of OCPI `type` when there are several."""
    candidates = list(
        PartnerToken.objects.select_related("partner")
        .filter(object_id__iexact=uid, partner__status=Partner.Status.REGISTERED)
        .order_by("-last_updated", "-pk")[:10]
    )
    return next((c for c in candidates if c.type == type), candidates[0] if candidates else None)


def _stored_token(partner: Partner, country_code: str, party_id: str, uid: str, token_type: str):
    return PartnerToken.objects.filter(
        partner=partner,
        country_code=country_code.upper(),
        party_id=party_id.upper(),
        object_id=uid,
        type=token_type,
    ).first()


@ocpi_module_view(role="CPO", methods=("GET", "PUT", "PATCH"))
def cpo_token(
    request: HttpRequest,
    partner: Partner,
    roaming_settings: RoamingSettings,
    country_code: str,
    party_id: str,
    uid: str,
) -> HttpResponse:
    """GET, PUT (insert or replace) or PATCH (merge, last_updated required) one of the partner's tokens."""
    token_type = _type_param(request)
    stored = _stored_token(partner, country_code, party_id, uid, token_type)
    if request.method == "GET":
        return envelope(stored.data) if stored else _unknown_token()
    body = request_json(request)
    if request.method == "PATCH":
        if stored is None:
            return _unknown_token()
        if "last_updated" not in body:
            raise _invalid("last_updated is required in a PATCH")
        body = {**stored.data, **body}
    for name, expected in (("country_code", country_code), ("party_id", party_id), ("uid", uid)):
        if str(body.get(name, "")).upper() != expected.upper():
            raise _invalid(f"{name} does not match the URL")
    if body.get("type") != token_type:
        raise _invalid("type does not match the type parameter")
    if not partner_is_party(partner, country_code, party_id):
        raise _invalid("country_code/party_id: not a party of this partner")
    token_store(partner=partner, data=body)
    return envelope()


# --- CPO: authorizing an eMSP partner's token at our stations -----------------------------------------------------

# OCPP IdToken types → the OCPI type to prefer among a uid's tokens (1.6 idTags have none: any).
OCPI_TYPE_OF_OCPP = {"ISO14443": "RFID", "ISO15693": "RFID", "Central": "APP_USER", "eMAID": "OTHER"}
# OCPI TokenType → the OCPP 2.0.1 IdTokenEnumType stations get it as (remote starts, reservations, local lists).
OCPP_TOKEN_TYPE = {"RFID": "ISO14443", "APP_USER": "Central", "AD_HOC_USER": "Central", "OTHER": "Central"}
# The whitelists that let a CPO accept a token without asking the eMSP (OCPI 2.2.1 WhitelistType).
OFFLINE_WHITELISTS = ("ALWAYS", "ALLOWED_OFFLINE")


def _location_references(station_id: int | None) -> dict | None:
    station = Station.objects.filter(pk=station_id).prefetch_related("evses").first() if station_id else None
    if station is None or station.location_id is None:
        return None
    return {
        "location_id": str(station.location_id),
        "evse_uids": [evse_uid(evse, station) for evse in station.evses.all()],
    }


def _cached(token: PartnerToken) -> Authorization:
    return Authorization("Accepted" if token.valid else "Invalid", group_uid=token.group_id)


def _when_unreachable(token: PartnerToken | None) -> Authorization | None:
    """The eMSP did not answer: ALLOWED_OFFLINE and ALLOWED tokens we hold as valid charge; NEVER does not."""
    if token is None:
        return None
    if token.whitelist in ("ALLOWED_OFFLINE", "ALLOWED"):
        return _cached(token)
    return Authorization("Invalid", group_uid=token.group_id)


def _answer_store(partner: Partner, token: PartnerToken | None, info: dict) -> PartnerToken | None:
    """Keep the token they returned and, on ALLOWED, their reference and when: reused for REALTIME_REUSE."""
    returned = info.get("token")
    try:
        token = token_store(partner=partner, data=returned) if isinstance(returned, dict) else token
    except RoamingError as error:
        logger.warning("roaming: %s answered an authorization with an invalid token: %s", partner, error)
    if token is not None and info.get("allowed") == "ALLOWED":
        token.authorization_reference = str(info.get("authorization_reference") or "")[:36]
        token.authorized_at = timezone.now()
        token.save(update_fields=["authorization_reference", "authorized_at", "updated_at"])
    return token


@authorizer_register
def partner_token_authorize(
    *, uid: str, type: str, station_id: int | None, in_session: bool = False
) -> Authorization | None:
    """Whether an eMSP partner's driver may charge at our station (rules in the module docstring and docs); None
    when no partner knows the uid."""
    if not has_registered_partners(connection.schema_name):
        return None
    roaming_settings = RoamingSettings.objects.first()
    if roaming_settings is None or RoamingSettings.Role.CPO not in roaming_settings.roles:
        return None
    token = partner_token_find(uid=uid, type=OCPI_TYPE_OF_OCPP.get(type, ""))
    if token is not None:
        fresh = token.authorized_at is not None and timezone.now() - token.authorized_at < REALTIME_REUSE
        # A running session's later messages are not asked again: the start was authorized.
        if token.whitelist == "ALWAYS" or in_session or (fresh and token.valid):
            return _cached(token)
        partners = [token.partner]
    else:
        partners = [
            partner
            for partner in Partner.objects.filter(status=Partner.Status.REGISTERED).order_by("pk")
            if _plays(partner, "EMSP") and partner.endpoint_url("tokens", "SENDER")
        ]
    token_type = token.type if token is not None else OCPI_TYPE_OF_OCPP.get(type, "RFID")
    references = _location_references(station_id)
    for partner in partners:
        try:
            answer = partner_call(
                partner,
                "POST",
                module="tokens",
                role="SENDER",
                path=f"/{quote(uid, safe='')}/authorize",
                params={"type": token_type},
                body=references,
                timeout=AUTHORIZE_TIMEOUT_SECONDS,
                # A token we hold names its eMSP; one we do not know, a hub routes by its uid (open routing).
                to=(token.country_code, token.party_id) if token is not None else None,
                open_routing=token is None and partner_is_hub(partner),
            )
        except PartnerRefusedError:
            continue  # 404/2004: not theirs (or no longer)
        except RoamingError as error:
            logger.info("roaming: real-time authorization of %s at %s failed: %s", uid, partner, error)
            return _when_unreachable(token)
        info = answer.data if isinstance(answer.data, dict) else {}
        stored = _answer_store(partner, token, info)
        status = AUTHORIZATION_STATUS.get(info.get("allowed"), "Invalid")
        return Authorization(status, group_uid=stored.group_id if stored else "")
    return None


@local_list_source_register
def partner_tokens_offline(*, uids: list[str] | None = None) -> list[LocalListEntry]:
    """eMSP partners' valid tokens with whitelist ALWAYS or ALLOWED_OFFLINE, for stations' local lists: the ones
    OCPI lets us accept while the station (or the eMSP) cannot be asked."""
    if not has_registered_partners(connection.schema_name):
        return []
    roaming_settings = RoamingSettings.objects.first()
    if roaming_settings is None or RoamingSettings.Role.CPO not in roaming_settings.roles:
        return []
    tokens = PartnerToken.objects.filter(
        partner__status=Partner.Status.REGISTERED, valid=True, whitelist__in=OFFLINE_WHITELISTS
    ).order_by("object_id", "pk")
    if uids is not None:
        tokens = tokens.filter(object_id__in=uids)
    entries: dict[str, LocalListEntry] = {}
    for token in tokens:
        entries.setdefault(
            token.object_id.upper(),
            LocalListEntry(uid=token.object_id, type=OCPP_TOKEN_TYPE[token.type], group_uid=token.group_id),
        )
    return list(entries.values())


urlpatterns = [
    path("emsp/tokens", emsp_tokens_list, name="emsp-tokens"),
    path("emsp/tokens/<str:uid>/authorize", emsp_token_authorize, name="emsp-token-authorize"),
    path("cpo/tokens/<str:country_code>/<str:party_id>/<str:uid>", cpo_token, name="cpo-token"),
]
