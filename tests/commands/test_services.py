"""Commands are validated before anything is sent, and a station that is not connected is an immediate outcome."""

import pytest
from rest_framework.exceptions import ValidationError

from apps.commands.models import Command
from apps.commands.services import command_create, command_finish, command_send, commands_send
from tests.stations.factories import StationFactory


@pytest.mark.usefixtures("tenant_schema")
def test_bad_parameters_are_refused_naming_the_field_and_nothing_is_recorded():
    station = StationFactory(protocol="ocpp1.6")

    with pytest.raises(ValidationError) as refused:
        command_create(station=station, operation="unlock_connector", params={"evse_id": "one"})
    assert set(refused.value.detail) == {"evse_id"}
    with pytest.raises(ValidationError) as unknown:
        command_create(station=station, operation="self_destruct")
    assert unknown.value.detail == {"operation": ["Unknown operation 'self_destruct'."]}
    assert not Command.objects.exists()


@pytest.mark.usefixtures("tenant_schema")
def test_an_operation_of_the_other_version_is_refused_with_the_reason():
    station = StationFactory(protocol="ocpp2.0.1")

    with pytest.raises(ValidationError) as refused:
        command_create(station=station, operation="get_configuration")

    assert refused.value.detail == {
        "operation": ["Get configuration exists in ocpp1.6; this station speaks ocpp2.0.1."]
    }


@pytest.mark.usefixtures("tenant_schema")
def test_parameters_are_recorded_with_their_defaults():
    station = StationFactory(protocol="ocpp2.0.1")

    command = command_create(station=station, operation="remote_start", params={"id_token": "CARD-1"})

    assert command.params == {"id_token": "CARD-1", "id_token_type": "Central"}
    assert (command.status, command.source, command.timeout_s) == ("pending", "system", 30)


@pytest.mark.django_db(transaction=True)
def test_a_station_not_connected_is_offline_at_once_for_one_or_many(tenant_schema):
    away = StationFactory(protocol="ocpp1.6", is_online=False)
    newer = StationFactory(protocol="ocpp2.0.1", is_online=False)

    single = command_send(station=away, operation="reset", params={"kind": "hard"})
    many, refusals = commands_send(stations=[away, newer], operation="get_configuration")

    assert (single.status, single.detail) == ("offline", "The station is not connected.")
    assert [(c.station_id, c.status) for c in many] == [(away.pk, "offline")]
    assert [(r.station, list(r.errors)) for r in refusals] == [(newer, ["operation"])]


@pytest.mark.usefixtures("tenant_schema")
def test_command_send_refuses_to_run_inside_a_transaction():
    station = StationFactory(protocol="ocpp1.6", is_online=True)

    with pytest.raises(RuntimeError, match="outside transaction.atomic"):
        command_send(station=station, operation="clear_cache")


@pytest.mark.usefixtures("tenant_schema")
def test_an_outcome_is_recorded_once():
    command = command_create(station=StationFactory(protocol="ocpp1.6"), operation="clear_cache")

    command_finish(command_id=command.pk, status="accepted", answer_status="Accepted")
    command_finish(command_id=command.pk, status="error", detail="The connection closed before the answer.")

    command.refresh_from_db()
    assert (command.status, command.detail) == ("accepted", "")
