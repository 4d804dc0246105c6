"""Every write about stations: admission, connections, boots, statuses, faults, events and the message log.

Called by the OCPP edge (in a worker thread, inside the tenant's schema, one transaction per message) and by
operators' tools. Version-neutral: the edge translates each protocol's messages into these calls.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, check_password
from django.db import transaction
from django.utils import timezone

from apps.stations.inserts import rows_insert
from apps.stations.live import live_publish
from apps.stations.models import (
    Connector,
    Evse,
    Fault,
    MessageLogEntry,
    NetworkSettings,
    Station,
    StationEvent,
    StationVariable,
    StatusChange,
)
from apps.whitelabel.exceptions import TenantLimitReachedError
from apps.whitelabel.services import station_limit_check

Registration = Station.Registration
Profile = Station.SecurityProfile

# --- admission ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Admission:
    allowed: bool
    reason: str = ""
    station_id: int | None = None


class StationPasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2 with few iterations, for station passwords only: they are machine secrets of at least 16 random
    characters (OCPP 2.0.1 BasicAuthPassword: 16 to 40), where the 10^6 iterations that protect a person's
    guessable password only make every connection cost 0.2 s of CPU: a storm of 5,000 reconnecting stations
    would need twenty minutes of it (docs/decisions/0008-station-password-hashing.md)."""

    iterations = settings.OCPP_PASSWORD_ITERATIONS


def station_password_hash(password: str) -> str:
    hasher = StationPasswordHasher()
    return hasher.encode(password, hasher.salt())


def _password_matches(station: Station, password: str) -> bool:
    """Whether `password` is the station's; a hash made with other settings is redone cheaply on success."""
    encoded = station.password_hash
    hasher = StationPasswordHasher()
    if encoded.startswith(f"{hasher.algorithm}$"):
        matches = hasher.verify(password, encoded)  # with the iterations the hash was made with
        outdated = matches and hasher.must_update(encoded)
    else:
        matches = outdated = check_password(password, encoded)
    if outdated:
        station.password_hash = station_password_hash(password)
        station.save(update_fields=["password_hash"])
    return matches


def _credentials_check(station: Station, *, password: str | None, tls: bool, client_cert_identity: str | None) -> str:
    """Why the connection does not meet the station's security profile, or "" when it does."""
    profile = station.security_profile
    if profile >= Profile.TLS_BASIC and not tls:
        return f"security profile {profile} requires TLS"
    if profile == Profile.TLS_CLIENT_CERT:
        if client_cert_identity is None:
            return "security profile 3 requires a client certificate"
        if client_cert_identity != station.identity:
            return f"client certificate identity {client_cert_identity!r} is not the station identity"
        return ""
    if profile == Profile.NONE:
        return ""
    if password is None:
        return f"security profile {profile} requires HTTP Basic credentials"
    if not station.password_hash or not _password_matches(station, password):
        return "HTTP Basic password does not match"
    return ""


@transaction.atomic
def station_authenticate(
    *, identity: str, password: str | None, tls: bool, client_cert_identity: str | None
) -> Admission:
    """Whether a station may open a connection, per its security profile or, if unknown, the onboarding policy.

    The Basic username was already checked against `identity` by the caller. An unknown station admitted by the
    policy is created with the credential it presented, which becomes its own from then on.
    """
    station = Station.objects.filter(identity=identity).first()
    if station is None:
        policy = NetworkSettings.get().onboarding_policy
        if policy == NetworkSettings.OnboardingPolicy.REJECT:
            return Admission(False, "unknown station and the onboarding policy is reject")
        if client_cert_identity == identity and tls:
            profile, password_hash = Profile.TLS_CLIENT_CERT, ""
        elif password:
            profile, password_hash = (Profile.TLS_BASIC if tls else Profile.BASIC), station_password_hash(password)
        else:
            return Admission(False, "unknown station presented no credentials")
        try:
            station = station_create(
                identity=identity,
                security_profile=profile,
                password_hash=password_hash,
                registration_status=(
                    Registration.ACCEPTED if policy == NetworkSettings.OnboardingPolicy.ACCEPT else Registration.PENDING
                ),
            )
        except TenantLimitReachedError as error:
            return Admission(False, f"unknown station: {error}")
        return Admission(True, station_id=station.pk)
    if station.registration_status == Registration.REJECTED:
        return Admission(False, "the station is rejected")
    problem = _credentials_check(station, password=password, tls=tls, client_cert_identity=client_cert_identity)
    if problem:
        return Admission(False, problem)
    return Admission(True, station_id=station.pk)


@transaction.atomic
def station_create(
    *,
    identity: str,
    security_profile: int = Profile.BASIC,
    password_hash: str = "",
    registration_status: str = Registration.PENDING,
    location=None,
) -> Station:
    """A new station of the current brand; TenantLimitReachedError when its plan's station limit is reached."""
    station_limit_check()
    return Station.objects.create(
        identity=identity,
        security_profile=security_profile,
        password_hash=password_hash,
        registration_status=registration_status,
        location=location,
    )


def station_password_set(*, station: Station, password: str) -> None:
    """Store a station's HTTP Basic password (hashed; the plain text is never kept)."""
    station.password_hash = station_password_hash(password)
    station.save(update_fields=["password_hash"])


def station_registration_set(*, station: Station, status: str) -> None:
    """An operator accepts or rejects a station; a Pending station is accepted at its next boot retry."""
    station.registration_status = status
    station.save(update_fields=["registration_status"])


# --- connections --------------------------------------------------------------------------------------------------


def _station_locked(station_id: int) -> Station:
    """The station row locked for this transaction: a station's messages apply one at a time, in order."""
    return Station.objects.select_for_update().get(pk=station_id)


@dataclass(frozen=True)
class Connected:
    station: Station
    previous_connection_id: str  # the connection this one replaces, "" when the station was offline


@transaction.atomic
def station_connected(*, station_id: int, protocol: str, connection_id: str) -> Connected:
    """Record a new connection as the station's current one (a previous connection is being replaced)."""
    now = timezone.now()
    station = _station_locked(station_id)
    previous_connection_id = station.connection_id
    station.is_online = True
    station.protocol = protocol
    station.connection_id = connection_id
    station.connected_at = now
    station.last_seen_at = now
    station.save(update_fields=["is_online", "protocol", "connection_id", "connected_at", "last_seen_at"])
    live_publish("station.connected", station_id=station.pk, data={"identity": station.identity, "protocol": protocol})
    return Connected(station, previous_connection_id)


@transaction.atomic
def station_disconnected(*, station_id: int, connection_id: str) -> bool:
    """Mark the station offline, unless `connection_id` was already replaced by a newer connection."""
    station = _station_locked(station_id)
    if station.connection_id != connection_id:
        return False
    now = timezone.now()
    station.is_online = False
    station.connection_id = ""
    station.disconnected_at = now
    station.save(update_fields=["is_online", "connection_id", "disconnected_at"])
    live_publish("station.disconnected", station_id=station.pk, data={"identity": station.identity})
    return True


# Beyond the silence a connection is allowed (heartbeat interval + offline_after_s), how long the sweep waits before
# declaring a station offline whose server process vanished without running its disconnect.
PRESENCE_SWEEP_MARGIN = timedelta(seconds=60)


def station_presence_sweep(*, now: datetime | None = None) -> int:
    """Mark offline the stations shown online that nobody has heard from for longer than any live connection allows.

    A daphne process that crashes or is killed never runs its connections' disconnects; without this their stations
    would show online until they reconnect. The number of stations marked offline.
    """
    network = NetworkSettings.get()
    silence = timedelta(seconds=network.heartbeat_interval_s + network.offline_after_s) + PRESENCE_SWEEP_MARGIN
    cutoff = (now or timezone.now()) - silence
    swept = 0
    for station_id, connection_id in Station.objects.filter(is_online=True, last_seen_at__lt=cutoff).values_list(
        "id", "connection_id"
    ):
        swept += station_disconnected(station_id=station_id, connection_id=connection_id)
    return swept


def station_seen(*, station_id: int) -> None:
    Station.objects.filter(pk=station_id).update(last_seen_at=timezone.now())


@dataclass(frozen=True)
class BootResult:
    status: str  # Accepted, Pending or Rejected
    current_time: datetime
    interval_s: int


BOOT_FIELDS = (
    "vendor",
    "model",
    "serial_number",
    "firmware_version",
    "iccid",
    "imsi",
    "meter_type",
    "meter_serial",
    "boot_reason",
    "booted_at",
)
BOOT_STATUS = {Registration.ACCEPTED: "Accepted", Registration.PENDING: "Pending", Registration.REJECTED: "Rejected"}


@transaction.atomic(savepoint=False)  # a station's round trip: see call_handle
def station_boot(
    *,
    station_id: int,
    vendor: str,
    model: str,
    serial_number: str = "",
    firmware_version: str = "",
    iccid: str = "",
    imsi: str = "",
    meter_type: str = "",
    meter_serial: str = "",
    reason: str = "",
) -> BootResult:
    """A station (re)started: record what it is, answer its registration status and the interval to use."""
    station = _station_locked(station_id)
    now = timezone.now()
    station.vendor, station.model = vendor, model
    station.serial_number, station.firmware_version = serial_number, firmware_version
    station.iccid, station.imsi = iccid, imsi
    station.meter_type, station.meter_serial = meter_type, meter_serial
    station.boot_reason, station.booted_at = reason, now
    # Named fields: what a station says of itself at boot is no edit of the station (its updated_at stays).
    station.save(update_fields=[*BOOT_FIELDS])
    network = NetworkSettings.get()
    accepted = station.registration_status == Registration.ACCEPTED
    live_publish("station.booted", station_id=station.pk, data={"registration": station.registration_status})
    return BootResult(
        status=BOOT_STATUS[station.registration_status],
        current_time=now,
        interval_s=network.heartbeat_interval_s if accepted else network.boot_retry_interval_s,
    )


def station_heartbeat(*, station_id: int) -> datetime:
    """The platform's time, which the station synchronises its clock to."""
    return timezone.now()


# --- statuses and faults ------------------------------------------------------------------------------------------

# Status-report error codes (OCPP 1.6 ChargePointErrorCode) → (fault class, severity).
STATUS_ERROR_FAULTS = {
    "ConnectorLockFailure": ("connector", "error"),
    "EVCommunicationError": ("ev_side", "warning"),
    "GroundFailure": ("ground_fault", "critical"),
    "HighTemperature": ("over_temperature", "critical"),
    "InternalError": ("internal", "error"),
    "LocalListConflict": ("other", "warning"),
    "OtherError": ("other", "error"),
    "OverCurrentFailure": ("over_current", "critical"),
    "OverVoltage": ("internal", "error"),
    "PowerMeterFailure": ("power_meter", "error"),
    "PowerSwitchFailure": ("internal", "error"),
    "ReaderFailure": ("reader", "error"),
    "ResetFailure": ("internal", "error"),
    "UnderVoltage": ("internal", "warning"),
    "WeakSignal": ("communication", "warning"),
}
NO_ERROR = "NoError"
FAULTED = "Faulted"
# Faults opened by status reports are closed by the next clean status report of the same connector.
STATUS_FAULT_CODES = (*STATUS_ERROR_FAULTS, FAULTED)


@dataclass(frozen=True)
class FaultReport:
    """A problem a station reported, or its end (`cleared`), in neutral terms."""

    evse_id: int
    connector_id: int
    fault_class: str
    severity: str
    code: str
    description: str = ""
    cleared: bool = False


def fault_apply(*, station: Station, report: FaultReport, at: datetime) -> Fault | None:
    """Open a fault unless the same one is open; close the open one when the report clears it."""
    open_faults = Fault.objects.filter(
        station=station,
        code=report.code,
        evse_id=report.evse_id,
        connector_id=report.connector_id,
        closed_at__isnull=True,
    )
    if report.cleared:
        closed = None
        for fault in open_faults.filter(opened_at__lte=at):
            fault.closed_at, fault.closed_by = at, "station"
            fault.save(update_fields=["closed_at", "closed_by"])
            live_publish("fault.closed", station_id=station.pk, data=_fault_data(fault))
            closed = fault
        return closed
    if open_faults.exists():
        return None
    fault = Fault.objects.create(
        station=station,
        evse_id=report.evse_id,
        connector_id=report.connector_id,
        fault_class=report.fault_class,
        severity=report.severity,
        code=report.code[:120],
        description=report.description[:500],
        opened_at=at,
    )
    live_publish("fault.opened", station_id=station.pk, data=_fault_data(fault))
    return fault


def _fault_data(fault: Fault) -> dict:
    return {
        "fault_id": fault.pk,
        "evse_id": fault.evse_id,
        "connector_id": fault.connector_id,
        "fault_class": fault.fault_class,
        "severity": fault.severity,
        "code": fault.code,
        "opened_at": fault.opened_at,
        "closed_at": fault.closed_at,
    }


def fault_close(*, fault: Fault) -> None:
    """An operator closes a fault the station will never clear itself (a tamper alarm after inspection)."""
    if fault.closed_at is None:
        fault.closed_at, fault.closed_by = timezone.now(), "operator"
        fault.save(update_fields=["closed_at", "closed_by"])
        live_publish("fault.closed", station_id=fault.station_id, data=_fault_data(fault))


def connector_get_or_create(*, station: Station, evse_id: int, connector_id: int) -> Connector:
    """The connector as the station numbers it, made (with its EVSE) the first time the station reports it."""
    connector = Connector.objects.filter(
        evse__station=station, evse__evse_id=evse_id, connector_id=connector_id
    ).first()  # one query where two get_or_create calls made two on every status report
    if connector is None:
        evse, _ = Evse.objects.get_or_create(station=station, evse_id=evse_id)
        connector, _ = Connector.objects.get_or_create(evse=evse, connector_id=connector_id)
    return connector


@transaction.atomic(savepoint=False)  # a station's round trip: see call_handle
def connector_status_report(
    *,
    station_id: int,
    evse_id: int,
    connector_id: int,
    status: str,
    error_code: str = "",
    info: str = "",
    vendor_id: str = "",
    vendor_error_code: str = "",
    reported_at: datetime | None = None,
) -> StatusChange:
    """Record a status in the history; the connector shows the newest report by the station's own clock.

    Offline-queued reports arrive late: an older report is kept in the history but does not overwrite a newer
    status. An error code opens a fault; the next report without one closes it.
    """
    station = _station_locked(station_id)
    now = timezone.now()
    reported_at = reported_at or now
    change = StatusChange.objects.create(
        station=station,
        evse_id=evse_id,
        connector_id=connector_id,
        status=status,
        error_code="" if error_code == NO_ERROR else error_code,
        info=info,
        vendor_id=vendor_id,
        vendor_error_code=vendor_error_code,
        reported_at=reported_at,
        received_at=now,
    )
    if evse_id == 0:
        newest = not StatusChange.objects.filter(station=station, evse_id=0, reported_at__gt=reported_at).exists()
        if newest:
            station.status = status
            station.save(update_fields=["status"])
    else:
        connector = connector_get_or_create(station=station, evse_id=evse_id, connector_id=connector_id)
        newest = connector.status_reported_at is None or reported_at >= connector.status_reported_at
        if newest:
            connector.status = status
            connector.error_code = change.error_code
            connector.status_reported_at = reported_at
            connector.save(update_fields=["status", "error_code", "status_reported_at"])
    if newest:
        live_publish(
            "station.status_changed",
            station_id=station.pk,
            data={"evse_id": evse_id, "connector_id": connector_id, "status": status, "error_code": change.error_code},
        )
    _status_faults_apply(station, change)
    return change


def _status_faults_apply(station: Station, change: StatusChange) -> None:
    code = change.error_code or (FAULTED if change.status == FAULTED else "")
    if code:
        fault_class, severity = STATUS_ERROR_FAULTS.get(code, ("connector", "error"))
        description = " ".join(part for part in (change.info, change.vendor_error_code) if part)
        fault_apply(
            station=station,
            report=FaultReport(change.evse_id, change.connector_id, fault_class, severity, code, description),
            at=change.reported_at,
        )
        return
    for open_code in (
        Fault.objects.filter(
            station=station,
            evse_id=change.evse_id,
            connector_id=change.connector_id,
            code__in=STATUS_FAULT_CODES,
            closed_at__isnull=True,
        )
        .values_list("code", flat=True)
        .distinct()
    ):
        fault_apply(
            station=station,
            report=FaultReport(change.evse_id, change.connector_id, "", "", open_code, cleared=True),
            at=change.reported_at,
        )


# --- events, firmware, diagnostics --------------------------------------------------------------------------------


@transaction.atomic
def station_event_report(
    *,
    station_id: int,
    kind: str,
    payload: dict,
    reported_at: datetime | None = None,
    fault: FaultReport | None = None,
) -> StationEvent:
    """Keep what the station reported verbatim; open or close the fault it means, if any."""
    station = Station.objects.get(pk=station_id)
    event = StationEvent.objects.create(station=station, kind=kind, payload=payload, reported_at=reported_at)
    if fault is not None:
        fault_apply(station=station, report=fault, at=reported_at or event.received_at)
    return event


@transaction.atomic
def firmware_status_report(*, station_id: int, status: str, request_id: int | None = None) -> None:
    now = timezone.now()
    Station.objects.filter(pk=station_id).update(firmware_status=status, firmware_status_at=now)
    StationEvent.objects.create(
        station_id=station_id, kind="firmware_status", payload={"status": status, "requestId": request_id}
    )
    live_publish("station.firmware_status", station_id=station_id, data={"status": status, "request_id": request_id})


@transaction.atomic
def diagnostics_status_report(*, station_id: int, status: str, request_id: int | None = None) -> None:
    now = timezone.now()
    Station.objects.filter(pk=station_id).update(diagnostics_status=status, diagnostics_status_at=now)
    StationEvent.objects.create(
        station_id=station_id, kind="diagnostics_status", payload={"status": status, "requestId": request_id}
    )
    live_publish("station.diagnostics_status", station_id=station_id, data={"status": status, "request_id": request_id})


# --- message log --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageLogInput:
    station_id: int
    direction: str
    message_type: int
    message_id: str
    action: str
    payload: object
    error_code: str
    error_description: str
    created_at: datetime
    latency_ms: int | None = None


# The columns the hot path writes, in the order of its rows.
MESSAGE_LOG_FIELDS = (
    "station",
    "direction",
    "message_type",
    "message_id",
    "action",
    "payload",
    "error_code",
    "error_description",
    "created_at",
    "latency_ms",
)


def message_log_write(*, entries: list[MessageLogInput]) -> None:
    """One INSERT for all the entries of a round trip."""
    rows_insert(
        MessageLogEntry,
        MESSAGE_LOG_FIELDS,
        [
            (
                entry.station_id,
                entry.direction,
                entry.message_type,
                entry.message_id,
                entry.action,
                entry.payload,
                entry.error_code,
                entry.error_description,
                entry.created_at,
                entry.latency_ms,
            )
            for entry in entries
        ],
    )


def message_log_prune(*, now: datetime | None = None) -> int:
    """Delete entries older than the tenant's retention; the number deleted."""
    days = NetworkSettings.get().message_log_retention_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = MessageLogEntry.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- configuration and device model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariableReport:
    """One configuration value as a station reported it (1.6: `component` empty, `variable` the key)."""

    variable: str
    value: str
    component: str = ""
    component_instance: str = ""
    evse_id: int = 0
    connector_id: int = 0
    variable_instance: str = ""
    attribute: str = "Actual"
    mutability: str = ""


@transaction.atomic
def station_variables_store(*, station_id: int, reports: list[VariableReport], at: datetime | None = None) -> int:
    """Keep the newest reported value of each variable (an empty mutability keeps the one known)."""
    at = at or timezone.now()
    for report in reports:
        key = {
            "station_id": station_id,
            "component": report.component,
            "component_instance": report.component_instance,
            "evse_id": report.evse_id,
            "connector_id": report.connector_id,
            "variable": report.variable,
            "variable_instance": report.variable_instance,
            "attribute": report.attribute,
        }
        defaults = {"value": report.value, "reported_at": at}
        if report.mutability:
            defaults["mutability"] = report.mutability
        StationVariable.objects.update_or_create(**key, defaults=defaults)
    return len(reports)


@transaction.atomic
def station_local_list_version_set(*, station_id: int, version: int) -> None:
    """The version of the local authorization list the station confirmed (sent and accepted, or reported)."""
    Station.objects.filter(pk=station_id).update(local_list_version=version)
