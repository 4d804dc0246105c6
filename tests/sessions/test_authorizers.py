"""Tokens the platform does not hold are asked of the registered authorizers (roaming partners' drivers); local
tokens never are."""

import pytest

from apps.sessions import authorizers, services
from apps.sessions.selectors import LocalListEntry, local_list_entries
from tests.sessions.factories import ChargingSessionFactory, IdTokenFactory
from tests.stations.factories import StationFactory


@pytest.fixture
def asked(monkeypatch) -> list[dict]:
    """One authorizer that knows "ROAM-1" (Accepted, group FLEET) and records every question."""
    questions: list[dict] = []

    def roaming(*, uid, type, station_id, in_session):
        questions.append({"uid": uid, "type": type, "station_id": station_id, "in_session": in_session})
        return services.Authorization("Accepted", group_uid="FLEET") if uid == "ROAM-1" else None

    monkeypatch.setattr(authorizers, "_authorizers", [])
    authorizers.authorizer_register(roaming)
    authorizers.authorizer_register(roaming)  # once only
    return questions


@pytest.mark.usefixtures("tenant_schema")
def test_an_unknown_uid_is_asked_of_the_authorizers(asked):
    station = StationFactory()

    known = services.id_token_authorize(uid="ROAM-1", type="ISO14443", station_id=station.pk)
    nobody = services.id_token_authorize(uid="NOPE", type="", station_id=station.pk)

    assert (known.status, known.group_uid, known.id_token) == ("Accepted", "FLEET", None)
    assert nobody.status == services.UNKNOWN
    assert asked == [
        {"uid": "ROAM-1", "type": "ISO14443", "station_id": station.pk, "in_session": False},
        {"uid": "NOPE", "type": "", "station_id": station.pk, "in_session": False},
    ]


@pytest.mark.usefixtures("tenant_schema")
def test_a_running_sessions_messages_say_so_and_local_tokens_are_never_asked(asked):
    station = StationFactory()
    IdTokenFactory(uid="LOCAL-1")
    session = ChargingSessionFactory(station=station, id_token_uid="ROAM-1")

    services.id_token_authorize(uid="ROAM-1", type="", station_id=station.pk, session=session)
    local = services.id_token_authorize(uid="local-1", type="", station_id=station.pk)

    assert local.status == "Accepted"
    assert [question["in_session"] for question in asked] == [True]


@pytest.mark.usefixtures("tenant_schema")
def test_local_lists_add_the_registered_sources_tokens_after_the_brands_own(monkeypatch):
    def roaming(*, uids):
        entries = [LocalListEntry(uid="ROAM-1", group_uid="FLEET"), LocalListEntry(uid="local-1")]
        return [entry for entry in entries if uids is None or entry.uid in uids]

    monkeypatch.setattr(authorizers, "_local_list_sources", [])
    authorizers.local_list_source_register(roaming)
    IdTokenFactory(uid="LOCAL-1")

    assert [(entry.uid, entry.group_uid) for entry in local_list_entries()] == [("LOCAL-1", ""), ("ROAM-1", "FLEET")]
    assert [(entry.uid, entry.status) for entry in local_list_entries(uids=["ROAM-1", "GONE"])] == [
        ("ROAM-1", "Accepted"),
        ("GONE", None),
    ]
