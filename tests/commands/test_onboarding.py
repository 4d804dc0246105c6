"""Vendor onboarding: the profile matching a station's vendor and model is applied once, on its first accepted boot."""

import asyncio
import json

import pytest

from apps.commands.models import Command, Onboarding, OnboardingProfile
from apps.commands.onboarding import onboarding_commands, profile_for, profile_operations
from apps.stations.models import StationVariable
from tests.ocpp.client import open_station, station_url
from tests.stations.factories import StationFactory

PASSWORD = "a-station-password-of-some-length"


def profile(**fields) -> OnboardingProfile:
    return OnboardingProfile.objects.create(**{"name": "p", "vendor": "Acme", "model_pattern": "*", **fields})


@pytest.mark.usefixtures("tenant_schema")
def test_the_best_matching_enabled_profile_wins():
    generic = profile(name="generic", vendor="*", priority=-10)
    acme = profile(name="acme ac", model_pattern="ac-*")
    profile(name="acme ac 2.0.1 only", model_pattern="ac-*", protocol="ocpp2.0.1", priority=5)
    profile(name="disabled", model_pattern="*", priority=99, enabled=False)

    assert profile_for(StationFactory(vendor="ACME", model="AC-22", protocol="ocpp1.6")) == acme
    assert profile_for(StationFactory(vendor="acme", model="AC-22", protocol="ocpp2.0.1")).name == "acme ac 2.0.1 only"
    assert profile_for(StationFactory(vendor="Other", model="X", protocol="ocpp1.6")) == generic


def test_a_profile_is_spelled_as_keys_in_1_6_and_as_variables_in_2_0_1():
    settings = OnboardingProfile(
        heartbeat_interval_s=120,
        meter_interval_s=15,
        measurands=["Energy.Active.Import.Register", "SoC"],
        configuration={"LocalAuthListEnabled": "true"},
        variables=[{"component": "AuthCtrlr", "variable": "AuthorizeRemoteStart", "value": "false"}],
    )

    assert profile_operations(settings, "ocpp1.6") == [
        ("change_configuration", {"key": "LocalAuthListEnabled", "value": "true"}),
        ("change_configuration", {"key": "HeartbeatInterval", "value": "120"}),
        ("change_configuration", {"key": "MeterValueSampleInterval", "value": "15"}),
        ("change_configuration", {"key": "MeterValuesSampledData", "value": "Energy.Active.Import.Register,SoC"}),
    ]
    assert profile_operations(settings, "ocpp2.0.1") == [
        (
            "set_variables",
            {
                "variables": [
                    {"component": "AuthCtrlr", "variable": "AuthorizeRemoteStart", "value": "false"},
                    {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval", "value": "120"},
                    {"component": "SampledDataCtrlr", "variable": "TxUpdatedInterval", "value": "15"},
                    {
                        "component": "SampledDataCtrlr",
                        "variable": "TxUpdatedMeasurands",
                        "value": "Energy.Active.Import.Register,SoC",
                    },
                ]
            },
        )
    ]


@pytest.mark.usefixtures("tenant_schema")
def test_onboarding_happens_once_unless_asked_again():
    matching = profile(heartbeat_interval_s=60)
    station = StationFactory(vendor="Acme", model="AC-22", protocol="ocpp1.6")
    stranger = StationFactory(vendor="Nobody", protocol="ocpp1.6")

    first = onboarding_commands(station_id=station.pk)
    second = onboarding_commands(station_id=station.pk)
    again = onboarding_commands(station_id=station.pk, again=True)

    assert len(first) == 1 and second == [] and len(again) == 1
    assert Command.objects.get(pk=first[0]).params == {"key": "HeartbeatInterval", "value": "60"}
    assert Onboarding.objects.get(station=station).profile == matching
    assert onboarding_commands(station_id=stranger.pk) == []
    assert Onboarding.objects.get(station=stranger).profile is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("settled")
def test_a_station_gets_its_profile_right_after_its_first_accepted_boot(ocpp_server, station_make, in_tenant):
    station_make("CP-NEW-AC", password=PASSWORD)
    with in_tenant():
        profile(vendor="Acme", model_pattern="AC-*", heartbeat_interval_s=90, meter_interval_s=30)
    boot = {"chargePointVendor": "Acme", "chargePointModel": "AC-22"}

    async def scenario():
        url = station_url(ocpp_server.port, "CP-NEW-AC")
        async with open_station(url, identity="CP-NEW-AC", password=PASSWORD) as cp:
            await cp.call("BootNotification", boot)
            calls = []
            for _ in range(2):
                call = await cp.receive()
                calls.append(call[2:])
                await cp.connection.send(json.dumps([3, call[1], {"status": "Accepted"}]))
            await cp.call("BootNotification", boot)  # a reboot: nothing more to set
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(cp.connection.recv(), 0.5)
            return calls

    calls = asyncio.run(scenario())

    assert calls == [
        ["ChangeConfiguration", {"key": "HeartbeatInterval", "value": "90"}],
        ["ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "30"}],
    ]
    with in_tenant():
        assert set(Command.objects.values_list("status", "source")) == {("accepted", "system")}
        assert dict(StationVariable.objects.values_list("variable", "value")) == {
            "HeartbeatInterval": "90",
            "MeterValueSampleInterval": "30",
        }
