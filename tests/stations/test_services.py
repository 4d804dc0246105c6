"""Station services: who is admitted, what a connection and a status report change, faults, live events, retention."""

from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone

from apps.stations import services
from apps.stations.live import tenant_group
from apps.stations.models import Connector, Fault, MessageLogEntry, NetworkSettings, Station, StatusChange
from apps.stations.services import FaultReport, MessageLogInput
from apps.stations.tasks import message_log_prune_all, station_presence_sweep_all
from tests.stations.factories import STATION_PASSWORD, StationFactory

pytestmark = pytest.mark.usefixtures("tenant_schema")
T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def authenticate(identity, password=STATION_PASSWORD, tls=False, cert=None):
    return services.station_authenticate(identity=identity, password=password, tls=tls, client_cert_identity=cert)


# --- admission ----------------------------------------------------------------------------------------------------


def test_profile_1_needs_the_right_password():
    station = StationFactory()

    assert authenticate(station.identity).allowed
    assert authenticate(station.identity).station_id == station.pk
    wrong = authenticate(station.identity, password="not-it")
    missing = authenticate(station.identity, password=None)
    assert (wrong.allowed, missing.allowed) == (False, False)
    assert "password" in wrong.reason and "credentials" in missing.reason


def test_station_passwords_are_hashed_for_cheap_checks_and_old_hashes_are_redone_on_success(settings):
    station = StationFactory()
    services.station_password_set(station=station, password="a-fresh-password-of-32-characters")
    algorithm, iterations, *_ = station.password_hash.split("$")
    assert (algorithm, int(iterations)) == ("pbkdf2_sha256", settings.OCPP_PASSWORD_ITERATIONS)

    legacy = PBKDF2PasswordHasher().encode("an-older-password-of-some-length", "saltsaltsalt", iterations=20000)
    Station.objects.filter(pk=station.pk).update(password_hash=legacy)
    assert not authenticate(station.identity, password="a-wrong-password-of-some-length").allowed
    assert Station.objects.get(pk=station.pk).password_hash == legacy  # a failure changes nothing
    assert authenticate(station.identity, password="an-older-password-of-some-length").allowed
    redone = Station.objects.get(pk=station.pk).password_hash
    assert redone.startswith(f"pbkdf2_sha256${settings.OCPP_PASSWORD_ITERATIONS}$") and redone != legacy
    assert authenticate(station.identity, password="an-older-password-of-some-length").allowed


def test_profile_2_needs_tls_and_profile_3_a_matching_certificate():
    tls_basic = StationFactory(security_profile=Station.SecurityProfile.TLS_BASIC)
    certified = StationFactory(security_profile=Station.SecurityProfile.TLS_CLIENT_CERT, password_hash="")

    assert not authenticate(tls_basic.identity).allowed
    assert authenticate(tls_basic.identity, tls=True).allowed
    assert not authenticate(certified.identity, password=None, tls=True).allowed
    assert not authenticate(certified.identity, password=None, tls=True, cert="SOMEONE-ELSE").allowed
    assert not authenticate(certified.identity, password=None, tls=False, cert=certified.identity).allowed
    assert authenticate(certified.identity, password=None, tls=True, cert=certified.identity).allowed


def test_a_rejected_station_is_refused_whatever_it_presents():
    station = StationFactory(registration_status=Station.Registration.REJECTED)

    assert authenticate(station.identity).reason == "the station is rejected"


@pytest.mark.parametrize(
    ("policy", "allowed", "registration"),
    [("reject", False, None), ("pending", True, "pending"), ("accept", True, "accepted")],
)
def test_unknown_stations_follow_the_onboarding_policy(policy, allowed, registration):
    NetworkSettings.objects.update_or_create(pk=1, defaults={"onboarding_policy": policy})

    admission = authenticate("CP-NEW", tls=True)

    assert admission.allowed is allowed
    station = Station.objects.filter(identity="CP-NEW").first()
    assert (station.registration_status if station else None) == registration
    if station:
        assert station.security_profile == Station.SecurityProfile.TLS_BASIC
        assert authenticate("CP-NEW", tls=True).allowed  # its first password is its own from now on
        assert not authenticate("CP-NEW", password="another-password", tls=True).allowed


def test_an_unknown_station_without_credentials_is_never_onboarded():
    NetworkSettings.objects.update_or_create(pk=1, defaults={"onboarding_policy": "accept"})

    assert not authenticate("CP-ANON", password=None).allowed
    assert not Station.objects.filter(identity="CP-ANON").exists()


# --- connections --------------------------------------------------------------------------------------------------


def test_the_disconnect_of_a_replaced_connection_leaves_the_station_online():
    station = StationFactory()
    services.station_connected(station_id=station.pk, protocol="ocpp1.6", connection_id="first")
    services.station_connected(station_id=station.pk, protocol="ocpp2.0.1", connection_id="second")

    assert services.station_disconnected(station_id=station.pk, connection_id="first") is False
    station.refresh_from_db()
    assert (station.is_online, station.connection_id, station.protocol) == (True, "second", "ocpp2.0.1")

    assert services.station_disconnected(station_id=station.pk, connection_id="second") is True
    station.refresh_from_db()
    assert (station.is_online, station.connection_id) == (False, "")


def test_stations_of_a_vanished_server_process_are_swept_offline():
    network = NetworkSettings.get()
    limit = timedelta(seconds=network.heartbeat_interval_s + network.offline_after_s) + services.PRESENCE_SWEEP_MARGIN
    now = timezone.now()
    recent = StationFactory(is_online=True, connection_id="a", last_seen_at=now - limit + timedelta(seconds=5))
    stale = StationFactory(is_online=True, connection_id="b", last_seen_at=now - limit - timedelta(seconds=5))

    station_presence_sweep_all()  # eager here: one task per tenant

    recent.refresh_from_db()
    stale.refresh_from_db()
    assert (recent.is_online, stale.is_online, stale.connection_id) == (True, False, "")


def test_boot_records_the_station_and_answers_its_registration():
    station = StationFactory(registration_status=Station.Registration.PENDING)
    network = NetworkSettings.get()

    pending = services.station_boot(station_id=station.pk, vendor="Acme", model="AC-22", serial_number="S-9")
    services.station_registration_set(station=station, status=Station.Registration.ACCEPTED)
    accepted = services.station_boot(station_id=station.pk, vendor="Acme", model="AC-22", firmware_version="2.1")

    assert (pending.status, pending.interval_s) == ("Pending", network.boot_retry_interval_s)
    assert (accepted.status, accepted.interval_s) == ("Accepted", network.heartbeat_interval_s)
    station.refresh_from_db()
    assert (station.vendor, station.model, station.firmware_version) == ("Acme", "AC-22", "2.1")


# --- statuses and faults ------------------------------------------------------------------------------------------


def report(station, status, at, error_code="NoError", evse_id=1, **extra):
    return services.connector_status_report(
        station_id=station.pk,
        evse_id=evse_id,
        connector_id=1,
        status=status,
        error_code=error_code,
        reported_at=at,
        **extra,
    )


def test_a_late_status_joins_the_history_without_overwriting_a_newer_one():
    station = StationFactory()
    report(station, "Available", T0 + timedelta(minutes=5))
    report(station, "Charging", T0)

    connector = Connector.objects.get(evse__station=station, evse__evse_id=1)
    assert connector.status == "Available"
    history = StatusChange.objects.filter(station=station).order_by("reported_at")
    assert list(history.values_list("status", flat=True)) == ["Charging", "Available"]


def test_an_error_code_opens_a_fault_and_the_next_clean_report_closes_it():
    station = StationFactory()
    report(station, "Faulted", T0, error_code="HighTemperature", info="cabinet", vendor_error_code="E-71")
    report(station, "Faulted", T0 + timedelta(minutes=1), error_code="HighTemperature")  # still the same fault
    report(station, "Available", T0 + timedelta(minutes=30))

    fault = Fault.objects.get(station=station)
    assert (fault.fault_class, fault.severity, fault.code) == ("over_temperature", "critical", "HighTemperature")
    assert fault.description == "cabinet E-71"
    assert (fault.opened_at, fault.closed_at, fault.closed_by) == (T0, T0 + timedelta(minutes=30), "station")
    assert fault.duration == timedelta(minutes=30)
    assert StatusChange.objects.get(station=station, status="Available").error_code == ""


def test_a_faulted_status_without_error_code_is_a_connector_fault():
    station = StationFactory()
    report(station, "Faulted", T0, error_code="")

    fault = Fault.objects.get(station=station)
    assert (fault.code, fault.fault_class, fault.is_open) == ("Faulted", "connector", True)


def test_an_operator_closes_a_fault_the_station_never_clears():
    station = StationFactory()
    services.station_event_report(
        station_id=station.pk,
        kind="security_event",
        payload={"type": "TamperDetectionActivated"},
        reported_at=T0,
        fault=FaultReport(0, 0, "other", "critical", "TamperDetectionActivated"),
    )
    fault = Fault.objects.get(station=station)

    services.fault_close(fault=fault)

    fault.refresh_from_db()
    assert fault.closed_by == "operator" and fault.closed_at is not None


# --- live events --------------------------------------------------------------------------------------------------


def test_state_changes_are_published_to_the_tenant_group_after_commit(tenant, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(tenant_group(tenant.schema_name), channel)
    station = StationFactory()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report(station, "Faulted", T0, error_code="GroundFailure")
    assert callbacks, "nothing is sent before the transaction commits"
    for callback in callbacks:
        callback()

    received = [async_to_sync(layer.receive)(channel) for _ in callbacks]
    kinds = {message["kind"] for message in received}
    assert kinds == {"station.status_changed", "fault.opened"}
    status = next(message for message in received if message["kind"] == "station.status_changed")
    assert status["station_id"] == station.pk
    assert status["data"] == {"evse_id": 1, "connector_id": 1, "status": "Faulted", "error_code": "GroundFailure"}


# --- message log --------------------------------------------------------------------------------------------------


def test_message_log_keeps_entries_for_the_retention_period_only(tenant):
    station = StationFactory()
    NetworkSettings.objects.update_or_create(pk=1, defaults={"message_log_retention_days": 7})
    now = timezone.now()

    def entry(age_days):
        return MessageLogInput(station.pk, "in", 2, f"m-{age_days}", "Heartbeat", {}, "", "", now - timedelta(age_days))

    services.message_log_write(entries=[entry(1), entry(6), entry(8), entry(30)])
    message_log_prune_all()  # eager here: one task per tenant

    assert sorted(MessageLogEntry.objects.values_list("message_id", flat=True)) == ["m-1", "m-6"]
