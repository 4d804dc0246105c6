"""Every write about charging: authorising ID tokens, starting, updating and stopping sessions, storing readings.

Version-neutral: OCPP 1.6 StartTransaction/StopTransaction and 2.0.1 TransactionEvent both end up here. The rules
that keep energy right under real-world behaviour live here too:
- a transaction's messages are applied under the station's row lock, one at a time;
- a retransmitted stop or a repeated sequence number changes nothing and gets the same answer;
- offline-queued messages are placed by their own timestamps (a late Updated does not move a stop back);
- an energy register that goes backwards is flagged and does not produce negative or doubled energy.
"""

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.sessions.authorizers import external_authorize
from apps.sessions.metering import ENERGY_REGISTER, MeterValue, active_power_w, energy_register_wh, normalise
from apps.sessions.models import (
    ChargingSession,
    GuestAccess,
    IdToken,
    MeterSample,
    Reservation,
    TransactionEvent,
    guest_secret_hash,
)
from apps.sessions.signals import session_ended, session_started
from apps.stations.inserts import rows_flush, rows_insert
from apps.stations.live import live_publish
from apps.stations.models import Station

logger = logging.getLogger(__name__)

Status = ChargingSession.Status
UNKNOWN = "Unknown"
CONCURRENT_TX = "ConcurrentTx"
# An active session not updated for this long no longer makes its token ConcurrentTx: its station probably lost
# the stop, and a driver must not be locked out by it.
CONCURRENCY_WINDOW = timedelta(hours=24)
STARTED, UPDATED, ENDED = "Started", "Updated", "Ended"
# 1.6 transactions have no sequence numbers; their start and stop are recorded as these.
V16_START_SEQ_NO, V16_STOP_SEQ_NO = 0, 1


# --- authorisation ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Authorization:
    status: str  # Accepted, Blocked, Expired, Invalid, Unknown, ConcurrentTx
    expires_at: datetime | None = None
    group_uid: str = ""
    id_token: IdToken | None = None


def _id_token_find(uid: str, type: str) -> IdToken | None:
    """The token with this uid (case-insensitive), preferring the given type (1.6 idTags carry none)."""
    candidates = list(IdToken.objects.select_related("group").filter(uid__iexact=uid)[:10])
    for candidate in candidates:
        if candidate.type == type:
            return candidate
    return candidates[0] if candidates else None


def id_token_authorize(
    *, uid: str, type: str, station_id: int | None, session: ChargingSession | None = None, concurrency: bool = True
) -> Authorization:
    """Whether `uid` may charge now: its own status, expiry, its group's, and sessions it already has going.
    A uid no local IdToken matches is asked of the registered external authorizers (roaming partners' drivers)."""
    token = _id_token_find(uid, type)
    if token is None:
        external = external_authorize(uid=uid, type=type, station_id=station_id, in_session=session is not None)
        return external or Authorization(UNKNOWN)
    group_uid = token.group.uid if token.group else ""
    now = timezone.now()
    status = token.status
    if status == IdToken.Status.ACCEPTED and token.expires_at is not None and token.expires_at <= now:
        status = IdToken.Status.EXPIRED
    if status == IdToken.Status.ACCEPTED and token.group is not None:
        if token.group.status != IdToken.Status.ACCEPTED:
            status = token.group.status
        elif token.group.expires_at is not None and token.group.expires_at <= now:
            status = IdToken.Status.EXPIRED
    if status == IdToken.Status.ACCEPTED and concurrency and not token.allow_concurrent:
        others = ChargingSession.objects.filter(
            id_token=token, status=Status.ACTIVE, updated_at__gte=now - CONCURRENCY_WINDOW
        )
        if session is not None:
            others = others.exclude(pk=session.pk)
        if others.exists():
            status = CONCURRENT_TX
    return Authorization(status, expires_at=token.expires_at, group_uid=group_uid, id_token=token)


_ID_TOKEN_FIELDS = frozenset({"uid", "type", "status", "expires_at", "group", "allow_concurrent", "label", "owner"})


@transaction.atomic
def id_token_create(
    *,
    uid: str,
    type: str = IdToken.Type.ISO14443,
    status: str = IdToken.Status.ACCEPTED,
    expires_at: datetime | None = None,
    group: IdToken | None = None,
    allow_concurrent: bool = False,
    label: str = "",
    owner=None,
) -> IdToken:
    """A new token (`owner`: the driver whose card or app token it is). Raises ValidationError naming the field: a uid
    the brand already has for this type (compared case-insensitively, as stations' uids are matched), or a group
    authorisation would not read (_id_token_check)."""
    token = IdToken(
        uid=uid.strip(),
        type=type,
        status=status,
        expires_at=expires_at,
        group=group,
        allow_concurrent=allow_concurrent,
        label=label,
        owner=owner,
    )
    return _id_token_save(token)


@transaction.atomic
def id_token_update(*, id_token: IdToken, **fields) -> IdToken:
    """Change some of uid, type, status (Blocked blocks it at once for online authorisation), expires_at, group,
    allow_concurrent, label. Stations holding a local authorization list keep the old entry until a list is sent."""
    unknown = set(fields) - _ID_TOKEN_FIELDS
    if unknown:
        raise TypeError(f"Unknown ID token fields: {', '.join(sorted(unknown))}")
    token = IdToken.objects.select_for_update().get(pk=id_token.pk)
    for name, value in fields.items():
        setattr(token, name, value.strip() if name == "uid" else value)
    return _id_token_save(token)


def _id_token_save(token: IdToken) -> IdToken:
    _id_token_check(token)
    try:
        with transaction.atomic():
            token.save()
    except IntegrityError as error:  # the same uid and type written at the same moment
        raise ValidationError({"uid": ["This brand already has a token with this uid and type."]}) from error
    return token


def _id_token_check(token: IdToken) -> None:
    token.full_clean(validate_unique=False, validate_constraints=False)
    errors: dict[str, list[str]] = {}
    same = IdToken.objects.filter(uid__iexact=token.uid, type=token.type).exclude(pk=token.pk)
    if same.exists():
        errors["uid"] = ["This brand already has a token with this uid and type (uids are matched case-insensitively)."]
    group = token.group
    if group is not None:
        # id_token_authorize reads one level of group: a group in a group would be ignored, so refuse it.
        if token.pk is not None and group.pk == token.pk:
            errors["group"] = ["A token cannot be its own group."]
        elif group.group_id is not None:
            errors["group"] = ["This token is itself in a group: a group token cannot belong to another group."]
        elif token.pk is not None and token.members.exists():
            errors["group"] = ["This token is the group of other tokens: a group token cannot join a group."]
    if errors:
        raise ValidationError(errors)


# A driver's own RFID cards, added in their app (issue 9).
DRIVER_CARDS_MAX = 10
# What an ISO 14443 card's UID is: 4, 7 or 10 bytes, written as hex (separators dropped, upper case).
_CARD_UID = re.compile(r"(?:[0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})")


def driver_card_uid_normalise(uid: str) -> str:
    return re.sub(r"[\s:-]", "", uid).upper()


@transaction.atomic
def driver_card_add(*, owner, uid: str, label: str = "") -> IdToken:
    """An ISO 14443 card the driver `owner` charges with. Refused (ValidationError on `uid`) when the uid is not a
    card's, or when the brand knows the uid already, as any type and whoever holds it: the message says neither."""
    uid = driver_card_uid_normalise(uid)
    if not _CARD_UID.fullmatch(uid):
        raise ValidationError(
            {"uid": [_("A card number is 8, 14 or 20 hexadecimal digits (0-9, A-F), as printed on the card.")]}
        )
    cards = IdToken.objects.filter(owner=owner, type=IdToken.Type.ISO14443).exclude(status=IdToken.Status.BLOCKED)
    if cards.count() >= DRIVER_CARDS_MAX:
        raise ValidationError({"uid": [_("You have the most cards an account may have: remove one first.")]})
    taken = _("This card cannot be added: it is already registered. Ask the operator if it is yours.")
    if IdToken.objects.filter(uid__iexact=uid).exists():
        raise ValidationError({"uid": [taken]})
    try:
        return id_token_create(uid=uid, type=IdToken.Type.ISO14443, label=label.strip(), owner=owner)
    except ValidationError as error:  # the same uid added at the same moment
        raise ValidationError({"uid": [taken]}) from error


@transaction.atomic
def driver_card_remove(*, owner, id_token: IdToken) -> IdToken:
    """The driver gives up a card: it is blocked (a lost card must not charge on) and no longer theirs."""
    if id_token.owner_id != owner.pk:
        raise ValidationError(_("This is not your card."))
    return id_token_update(id_token=id_token, status=IdToken.Status.BLOCKED, owner=None)


# --- the driver app's tokens -------------------------------------------------------------------------------------

# OCPP 1.6 idTags are at most 20 characters: the app's and guests' uids fit, with 64 random bits each.
APP_TOKEN_PREFIX, GUEST_TOKEN_PREFIX = "APP-", "GST-"
GUEST_TOKEN_LIFETIME = timedelta(hours=24)


def _random_uid(prefix: str) -> str:
    return prefix + secrets.token_hex(8).upper()


@transaction.atomic
def driver_app_token(user) -> IdToken:
    """The driver's own Central token, which the driver app's remote starts carry: created on first use, then
    reused. The user's row is locked so two first starts at once make one token."""
    type(user).objects.select_for_update().filter(pk=user.pk).first()
    token = (
        IdToken.objects.filter(owner=user, type=IdToken.Type.CENTRAL, uid__startswith=APP_TOKEN_PREFIX)
        .order_by("pk")
        .first()
    )
    if token is None:
        token = IdToken.objects.create(
            uid=_random_uid(APP_TOKEN_PREFIX), type=IdToken.Type.CENTRAL, owner=user, label="Driver app"
        )
    return token


def guest_token_uid() -> str:
    """A uid for a guest token, chosen before the token exists (its hold is placed first)."""
    return _random_uid(GUEST_TOKEN_PREFIX)


@transaction.atomic
def guest_token_create(*, uid: str | None = None, email: str = "") -> tuple[IdToken, str]:
    """A guest's Central token, valid for GUEST_TOKEN_LIFETIME, and the secret that reaches its session (returned
    here once; only its SHA-256 is kept: 256 random bits need no slow hash)."""
    secret = secrets.token_urlsafe(32)
    token = IdToken.objects.create(
        uid=uid or guest_token_uid(),
        type=IdToken.Type.CENTRAL,
        expires_at=timezone.now() + GUEST_TOKEN_LIFETIME,
        label="Guest",
    )
    GuestAccess.objects.create(id_token=token, secret_hash=guest_secret_hash(secret), email=email)
    return token, secret


# --- readings -----------------------------------------------------------------------------------------------------


# The columns the hot path writes, in the order of its rows.
METER_SAMPLE_FIELDS = (
    "station",
    "session",
    "evse_id",
    "sampled_at",
    "measurand",
    "phase",
    "location",
    "context",
    "unit",
    "value",
    "value_normalised",
    "signed_data",
)


def meter_samples_store(
    *, station_id: int, evse_id: int, session: ChargingSession | None, meter_values: list[MeterValue]
) -> int | None:
    """Insert every sampled value in one statement; readings already stored are skipped. The number inserted (None
    inside a batch of the edge, where they are inserted with the batch's, see apps/stations/inserts.py)."""
    session_id = session.pk if session is not None else None
    rows = []
    for meter_value in meter_values:
        for sample in meter_value.sampled_values:
            normalised, _ = normalise(sample.value, sample.unit)
            rows.append(
                (
                    station_id,
                    session_id,
                    evse_id,
                    meter_value.timestamp,
                    sample.measurand,
                    sample.phase,
                    sample.location,
                    sample.context,
                    sample.unit,
                    sample.value,
                    normalised,
                    sample.signed_data,
                )
            )
    return rows_insert(MeterSample, METER_SAMPLE_FIELDS, rows, ignore_conflicts=True)


def _readings_apply(session: ChargingSession, meter_values: list[MeterValue]) -> None:
    """Update the live values (register, power) from readings, flagging a register that runs backwards."""
    for meter_value in sorted(meter_values, key=lambda item: item.timestamp):
        register = energy_register_wh(meter_value)
        at = meter_value.timestamp
        if register is not None:
            if session.meter_start_wh is not None and register < session.meter_start_wh:
                session.register_anomaly = True
            if session.last_register_at is None or at >= session.last_register_at:
                if session.last_register_wh is not None and register < session.last_register_wh:
                    session.register_anomaly = True
                session.last_register_wh, session.last_register_at = register, at
            elif session.last_register_wh is not None and register > session.last_register_wh:
                session.register_anomaly = True
        power = active_power_w(meter_value)
        if power is not None and (session.last_register_at is None or at >= session.last_register_at):
            session.power_w = power


def _register_readings(session: ChargingSession) -> list[Decimal]:
    rows_flush()  # readings of this batch that still wait to be inserted
    return list(
        MeterSample.objects.filter(session=session, measurand=ENERGY_REGISTER, phase="", location__in=("Outlet", ""))
        .order_by("sampled_at")
        .values_list("value_normalised", flat=True)
    )


def _energy_update(session: ChargingSession) -> None:
    """Energy from the registers at start and stop (or the latest reading while active).

    When the register went backwards, the plain difference is wrong: the energy is then summed between consecutive
    readings, a drop being taken as a meter reset to zero (or a replacement meter starting at zero), so what was
    delivered before and after it is counted once each.
    """
    start = session.meter_start_wh
    end = session.meter_stop_wh if session.status != Status.ACTIVE else session.last_register_wh
    if end is None and session.status != Status.ACTIVE:
        end = session.last_register_wh
    readings = None
    if start is None:
        readings = _register_readings(session)
        start = readings[0] if readings else None
    if start is None or end is None:
        return
    if end < start:
        session.register_anomaly = True
    if not session.register_anomaly:
        session.energy_wh = end - start
        return
    readings = readings if readings is not None else _register_readings(session)
    sequence = [start, *readings, end] if session.meter_start_wh is not None else [*readings, end]
    session.energy_wh = sum((b - a if b >= a else b for a, b in zip(sequence, sequence[1:], strict=False)), Decimal(0))


def _session_data(session: ChargingSession) -> dict:
    return {
        "session_id": session.pk,
        "transaction_id": session.transaction_id,
        "evse_id": session.evse_id,
        "connector_id": session.connector_id,
        "status": session.status,
        "id_token": session.id_token_uid,
        "started_at": session.started_at,
        "stopped_at": session.stopped_at,
        "energy_wh": session.energy_wh,
        "power_w": session.power_w,
        "stop_reason": session.stop_reason,
    }


def _lifecycle_send(signal, session: ChargingSession) -> None:
    """Tell receivers (billing) after commit; one that fails is logged by send_robust, never fails the station."""
    schema_name, session_id, status = connection.schema_name, session.pk, session.status
    transaction.on_commit(
        lambda: signal.send_robust(ChargingSession, session_id=session_id, status=status, schema_name=schema_name)
    )


def _station_locked(station_id: int) -> Station:
    return Station.objects.select_for_update().only("id").get(pk=station_id)


def _next_session_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [ChargingSession._meta.db_table])
        return cursor.fetchone()[0]


def _sessions_interrupt(*, station_id: int, evse_id: int, before: datetime, cause: str) -> int:
    """End, as interrupted, the sessions still active on an EVSE that began before `before`, at their last
    reading. An EVSE runs one transaction at a time, so when the station shows it free or starts another session
    there, those were lost by the station (a reboot without its stop, a stop never delivered): their energy so far
    counts once and their token is free again. A stop that arrives later still completes them with the station's
    own figures. Returns how many were interrupted."""
    stale = ChargingSession.objects.select_for_update().filter(
        station_id=station_id, evse_id=evse_id, status=Status.ACTIVE, started_at__lt=before
    )
    count = 0
    for session in stale:
        session.status = Status.INTERRUPTED
        session.stopped_at = session.last_register_at or session.started_at
        session.meter_stop_wh = session.last_register_wh
        _energy_update(session)
        session.save()
        count += 1
        logger.info("station %s: session %s interrupted (%s)", station_id, session.pk, cause)
        live_publish("session.ended", station_id=station_id, data=_session_data(session))
        _lifecycle_send(session_ended, session)
    return count


def _superseded_close(session: ChargingSession) -> None:
    """Sessions older than `session` on its EVSE are interrupted by it."""
    if session.evse_id is not None and session.started_at is not None:
        _sessions_interrupt(
            station_id=session.station_id,
            evse_id=session.evse_id,
            before=session.started_at,
            cause=f"session {session.pk} started on the EVSE",
        )


@transaction.atomic(savepoint=False)  # a station's round trip: see call_handle
def session_evse_freed(*, station_id: int, evse_id: int, at: datetime) -> int:
    """The station reported an EVSE free (Available) at `at`: sessions it began before then are over.

    Every Available report passes here, and almost never with such a session: the station row is locked only
    when there is one to end."""
    if not ChargingSession.objects.filter(
        station_id=station_id, evse_id=evse_id, status=Status.ACTIVE, started_at__lt=at
    ).exists():
        return 0
    _station_locked(station_id)
    return _sessions_interrupt(station_id=station_id, evse_id=evse_id, before=at, cause=f"EVSE available at {at}")


# --- OCPP 1.6 shaped: start and stop ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartResult:
    session: ChargingSession
    authorization: Authorization


@transaction.atomic(savepoint=False)  # a station's round trip: see call_handle
def session_start(
    *,
    station_id: int,
    evse_id: int,
    connector_id: int,
    id_token_uid: str,
    meter_start_wh: Decimal,
    started_at: datetime,
    reservation_id: int | None = None,
) -> StartResult:
    """A station started a transaction and needs its id: the platform assigns it (the session's own id).

    A retransmitted start (same EVSE, token, time and register) returns the session it already created.
    """
    station = _station_locked(station_id)
    existing = ChargingSession.objects.filter(
        station=station,
        evse_id=evse_id,
        connector_id=connector_id,
        id_token_uid=id_token_uid,
        started_at=started_at,
        meter_start_wh=meter_start_wh,
    ).first()
    if existing is not None:
        authorization = id_token_authorize(uid=id_token_uid, type="", station_id=station_id, session=existing)
        return StartResult(existing, authorization)

    authorization = id_token_authorize(uid=id_token_uid, type="", station_id=station_id)
    session_id = _next_session_id()
    session = ChargingSession.objects.create(
        id=session_id,
        station=station,
        evse_id=evse_id,
        connector_id=connector_id,
        transaction_id=str(session_id),
        id_token=authorization.id_token,
        id_token_uid=id_token_uid,
        authorization_status=authorization.status,
        reservation_id=reservation_id,
        started_at=started_at,
        meter_start_wh=meter_start_wh,
        last_register_wh=meter_start_wh,
        last_register_at=started_at,
    )
    TransactionEvent.objects.create(session=session, seq_no=V16_START_SEQ_NO, event_type=STARTED, timestamp=started_at)
    _superseded_close(session)
    if reservation_id is not None:
        Reservation.objects.filter(
            station=station, reservation_id=reservation_id, status=Reservation.Status.ACCEPTED
        ).update(status=Reservation.Status.USED, updated_at=timezone.now())
    live_publish("session.started", station_id=station_id, data=_session_data(session))
    _lifecycle_send(session_started, session)
    return StartResult(session, authorization)


@dataclass(frozen=True)
class StopResult:
    session: ChargingSession
    authorization: Authorization | None


@transaction.atomic(savepoint=False)  # a station's round trip: see call_handle
def session_stop(
    *,
    station_id: int,
    transaction_id: str,
    meter_stop_wh: Decimal,
    stopped_at: datetime,
    reason: str = "",
    id_token_uid: str = "",
    meter_values: list[MeterValue] = (),
) -> StopResult:
    """A station stopped a transaction. A repeated stop changes nothing; a stop without a known start is kept; a
    late stop completes a session that was taken as interrupted."""
    _station_locked(station_id)
    authorization = (
        id_token_authorize(uid=id_token_uid, type="", station_id=station_id, concurrency=False)
        if id_token_uid
        else None
    )
    session = ChargingSession.objects.filter(station_id=station_id, transaction_id=transaction_id).first()
    if session is not None and session.status not in (Status.ACTIVE, Status.INTERRUPTED):
        return StopResult(session, authorization)
    if session is None:
        logger.info("station %s: stop of unknown transaction %s recorded", station_id, transaction_id)
        session = ChargingSession.objects.create(
            station_id=station_id,
            transaction_id=transaction_id,
            status=Status.STOPPED_UNKNOWN_START,
            id_token=authorization.id_token if authorization else None,
            id_token_uid=id_token_uid,
        )
    else:
        session.status = Status.COMPLETED
    session.stopped_at = stopped_at
    session.meter_stop_wh = meter_stop_wh
    session.stop_reason = reason
    meter_samples_store(station_id=station_id, evse_id=session.evse_id or 0, session=session, meter_values=meter_values)
    _readings_apply(session, meter_values)
    TransactionEvent.objects.create(session=session, seq_no=V16_STOP_SEQ_NO, event_type=ENDED, timestamp=stopped_at)
    _energy_update(session)
    session.save()
    live_publish("session.ended", station_id=station_id, data=_session_data(session))
    _lifecycle_send(session_ended, session)
    return StopResult(session, authorization)


# --- OCPP 2.0.1 shaped: transaction events ------------------------------------------------------------------------


@dataclass(frozen=True)
class EventResult:
    session: ChargingSession
    authorization: Authorization | None
    duplicate: bool = False


@transaction.atomic(savepoint=False)  # a station's round trip: see call_handle
def session_event(
    *,
    station_id: int,
    event_type: str,
    transaction_id: str,
    seq_no: int,
    timestamp: datetime,
    trigger_reason: str = "",
    offline: bool = False,
    evse_id: int | None = None,
    connector_id: int | None = None,
    id_token_uid: str = "",
    id_token_type: str = "",
    stopped_reason: str = "",
    remote_start_id: int | None = None,
    charging_state: str = "",
    meter_values: list[MeterValue] = (),
) -> EventResult:
    """Apply one transaction event (Started, Updated or Ended), in whatever order the station sends them."""
    _station_locked(station_id)
    session = ChargingSession.objects.filter(station_id=station_id, transaction_id=transaction_id).first()
    created = session is None
    if created:
        session = ChargingSession.objects.create(station_id=station_id, transaction_id=transaction_id)

    def authorization_for(current: ChargingSession) -> Authorization | None:
        if not id_token_uid:
            return None
        return id_token_authorize(uid=id_token_uid, type=id_token_type, station_id=station_id, session=current)

    if TransactionEvent.objects.filter(session=session, seq_no=seq_no).exists():
        return EventResult(session, authorization_for(session), duplicate=True)
    newest = not session.events.filter(timestamp__gt=timestamp).exists()
    had_start = session.events.filter(event_type=STARTED).exists()
    TransactionEvent.objects.create(
        session=session,
        seq_no=seq_no,
        event_type=event_type,
        timestamp=timestamp,
        trigger_reason=trigger_reason,
        offline=offline,
    )
    authorization = authorization_for(session)

    session.last_seq_no = max(seq_no, session.last_seq_no or 0)
    session.offline = session.offline or offline
    if evse_id is not None and session.evse_id is None:
        session.evse_id, session.connector_id = evse_id, connector_id
    if authorization is not None and (not session.id_token_uid or event_type == STARTED):
        session.id_token = authorization.id_token
        session.id_token_uid, session.id_token_type = id_token_uid, id_token_type
        session.authorization_status = authorization.status
    if remote_start_id is not None:
        session.remote_start_id = remote_start_id
    if charging_state and newest:
        session.charging_state = charging_state
    if event_type == STARTED:
        session.started_at = timestamp
    elif not had_start and (session.started_at is None or timestamp < session.started_at):
        # Without its Started event, a session began no later than its earliest event.
        session.started_at = timestamp

    ordered = sorted(meter_values, key=lambda item: item.timestamp)
    registers = [register for register in map(energy_register_wh, ordered) if register is not None]
    if event_type == STARTED and registers:
        session.meter_start_wh = registers[0]
    if event_type == ENDED:
        session.stopped_at = timestamp
        session.stop_reason = stopped_reason or session.stop_reason
        if registers:
            session.meter_stop_wh = registers[-1]
    meter_samples_store(station_id=station_id, evse_id=session.evse_id or 0, session=session, meter_values=meter_values)
    _readings_apply(session, meter_values)

    ended = session.stopped_at is not None
    status_before = session.status
    has_start = had_start or event_type == STARTED
    was_active = session.status == Status.ACTIVE and not created
    if ended:
        session.status = Status.COMPLETED if has_start else Status.STOPPED_UNKNOWN_START
        if session.meter_stop_wh is None:
            session.meter_stop_wh = session.last_register_wh
    _energy_update(session)
    session.save()
    if event_type == STARTED:
        _superseded_close(session)

    if created and not ended:
        kind = "session.started"
    elif ended and (was_active or created or event_type == ENDED):
        kind = "session.ended"
    else:
        kind = "session.updated"
    live_publish(kind, station_id=station_id, data=_session_data(session))
    if kind == "session.started":
        _lifecycle_send(session_started, session)
    elif kind == "session.ended" or (ended and status_before != session.status):
        _lifecycle_send(session_ended, session)
    return EventResult(session, authorization)


# --- readings outside start/stop ----------------------------------------------------------------------------------


@transaction.atomic(savepoint=False)  # a station's round trip: see call_handle
def meter_values_record(
    *, station_id: int, evse_id: int, transaction_id: str | None, meter_values: list[MeterValue]
) -> ChargingSession | None:
    """Store readings; with a transaction they update its live energy and power."""
    session = None
    if transaction_id is not None:
        session = (
            ChargingSession.objects.select_for_update()
            .filter(station_id=station_id, transaction_id=transaction_id)
            .first()
        )
        if session is None:
            logger.info("station %s: meter values of unknown transaction %s kept", station_id, transaction_id)
    meter_samples_store(station_id=station_id, evse_id=evse_id, session=session, meter_values=meter_values)
    if session is not None and session.status == Status.ACTIVE:
        _readings_apply(session, meter_values)
        _energy_update(session)
        session.save()
        live_publish("session.updated", station_id=station_id, data=_session_data(session))
    return session


# --- reservations -------------------------------------------------------------------------------------------------


@transaction.atomic
def reservation_record(
    *,
    station_id: int,
    reservation_id: int,
    evse_id: int,
    id_token_uid: str,
    expires_at: datetime,
    accepted: bool,
    answer_status: str,
) -> Reservation:
    """The station's answer to a reservation: held until it expires, or refused (and why)."""
    reservation, _ = Reservation.objects.update_or_create(
        station_id=station_id,
        reservation_id=reservation_id,
        defaults={
            "evse_id": evse_id,
            "id_token_uid": id_token_uid,
            "expires_at": expires_at,
            "status": Reservation.Status.ACCEPTED if accepted else Reservation.Status.REJECTED,
            "answer_status": answer_status,
        },
    )
    return reservation


RESERVATION_UPDATES = {"Expired": Reservation.Status.EXPIRED, "Removed": Reservation.Status.REMOVED}


@transaction.atomic
def reservation_status_set(*, station_id: int, reservation_id: int, status: str) -> bool:
    """A reservation ended: cancelled on request, used by a session, or expired/removed as the station says.
    Only a reservation still held changes; returns whether one did."""
    return bool(
        Reservation.objects.filter(
            station_id=station_id, reservation_id=reservation_id, status=Reservation.Status.ACCEPTED
        ).update(status=status, updated_at=timezone.now())
    )


@transaction.atomic
def reservations_expire(*, now: datetime | None = None) -> int:
    """Held reservations past their expiry end as expired: 1.6 stations do not report it, 2.0.1 ones may not."""
    now = now or timezone.now()
    return Reservation.objects.filter(status=Reservation.Status.ACCEPTED, expires_at__lte=now).update(
        status=Reservation.Status.EXPIRED, updated_at=now
    )
