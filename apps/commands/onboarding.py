"""Vendor-agnostic onboarding: on a station's first accepted boot, the profile of its vendor and model says what to
set, and the platform sends it as ordinary commands (recorded, one at a time, with outcomes)."""

from fnmatch import fnmatchcase

from django.db import transaction

from apps.commands.models import Command, Onboarding, OnboardingProfile
from apps.commands.services import command_create
from apps.stations.models import Station

V16_INTERVAL_KEYS = {"heartbeat": "HeartbeatInterval", "meter": "MeterValueSampleInterval"}
V16_MEASURANDS_KEY = "MeterValuesSampledData"
V201_INTERVALS = {
    "heartbeat": ("OCPPCommCtrlr", "HeartbeatInterval"),
    "meter": ("SampledDataCtrlr", "TxUpdatedInterval"),
}
V201_MEASURANDS = ("SampledDataCtrlr", "TxUpdatedMeasurands")


def profile_for(station: Station) -> OnboardingProfile | None:
    """The enabled profile whose vendor and model patterns and protocol match the station, highest priority first
    (a catalogue holds tens of profiles, so they are matched here rather than in SQL)."""
    for profile in OnboardingProfile.objects.filter(enabled=True).order_by("-priority", "pk"):
        if profile.protocol and profile.protocol != station.protocol:
            continue
        if fnmatchcase(station.vendor.lower(), profile.vendor.lower()) and fnmatchcase(
            station.model.lower(), profile.model_pattern.lower()
        ):
            return profile
    return None


def profile_operations(profile: OnboardingProfile, protocol: str) -> list[tuple[str, dict]]:
    """The operations that apply `profile` to a station speaking `protocol`."""
    if protocol == "ocpp1.6":
        keys = dict(profile.configuration)
        if profile.heartbeat_interval_s:
            keys[V16_INTERVAL_KEYS["heartbeat"]] = str(profile.heartbeat_interval_s)
        if profile.meter_interval_s:
            keys[V16_INTERVAL_KEYS["meter"]] = str(profile.meter_interval_s)
        if profile.measurands:
            keys[V16_MEASURANDS_KEY] = ",".join(profile.measurands)
        return [("change_configuration", {"key": key, "value": str(value)}) for key, value in keys.items()]
    variables = [dict(item) for item in profile.variables]
    for which, seconds in (("heartbeat", profile.heartbeat_interval_s), ("meter", profile.meter_interval_s)):
        if seconds:
            component, variable = V201_INTERVALS[which]
            variables.append({"component": component, "variable": variable, "value": str(seconds)})
    if profile.measurands:
        component, variable = V201_MEASURANDS
        variables.append({"component": component, "variable": variable, "value": ",".join(profile.measurands)})
    return [("set_variables", {"variables": variables})] if variables else []


@transaction.atomic
def onboarding_commands(*, station_id: int, again: bool = False) -> list[int]:
    """On the station's first accepted boot (or `again`, on an operator's request): record the onboarding and create
    the commands of its profile. Returns their ids, to be sent in order; [] when already onboarded or nothing to set."""
    station = Station.objects.select_for_update().get(pk=station_id)
    existing = Onboarding.objects.filter(station=station).first()
    if existing is not None and not again:
        return []
    profile = profile_for(station)
    if existing is None:
        existing = Onboarding.objects.create(station=station, profile=profile)
    else:
        existing.profile = profile
        existing.save(update_fields=["profile"])
    if profile is None:
        return []
    commands = [
        command_create(station=station, operation=operation, params=params, source=Command.Source.SYSTEM)
        for operation, params in profile_operations(profile, station.protocol)
    ]
    existing.commands.add(*commands)
    return [command.pk for command in commands]
