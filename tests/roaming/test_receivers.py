"""Live events reach the roaming modules: only for a brand with registered partners (a cached answer, refreshed
when partners change or after a few seconds), and a handler that fails neither stops the others nor the station
message that published the event."""

import logging

import pytest
from django_tenants.utils import schema_context

from apps.roaming import receivers
from apps.roaming.models import Partner
from apps.roaming.receivers import has_registered_partners, partners_changed
from apps.stations.live import live_publish


@pytest.fixture
def fresh_cache(alpha):
    partners_changed(alpha.schema_name)
    yield
    partners_changed(alpha.schema_name)


def test_the_registered_partners_answer_is_cached_until_partners_change(alpha, fresh_cache, monkeypatch):
    with schema_context(alpha.schema_name):
        partner = Partner.objects.create(name="Bravo", status=Partner.Status.PENDING)
    assert has_registered_partners(alpha.schema_name) is False

    with schema_context(alpha.schema_name):
        Partner.objects.filter(pk=partner.pk).update(status=Partner.Status.REGISTERED)
    assert has_registered_partners(alpha.schema_name) is False  # cached: no query per station message

    now = receivers.time.monotonic()
    monkeypatch.setattr(receivers.time, "monotonic", lambda: now + receivers.PARTNERS_CACHE_SECONDS + 1)
    assert has_registered_partners(alpha.schema_name) is True  # refreshed after a few seconds

    with schema_context(alpha.schema_name):
        Partner.objects.filter(pk=partner.pk).update(status=Partner.Status.UNREGISTERED)
    partners_changed(alpha.schema_name)
    assert has_registered_partners(alpha.schema_name) is False  # at once when told


def test_the_platforms_own_schema_has_no_partners():
    assert has_registered_partners("public") is False


def test_without_registered_partners_no_handler_runs(
    alpha, fresh_cache, monkeypatch, django_capture_on_commit_callbacks
):
    resolved = []
    monkeypatch.setattr(receivers, "resolve", lambda dotted: resolved.append(dotted))

    with schema_context(alpha.schema_name), django_capture_on_commit_callbacks(execute=True):
        live_publish("station.status_changed", station_id=1, data={"status": "Available"})

    assert resolved == []


def test_a_failing_handler_breaks_neither_the_others_nor_the_publisher(
    alpha, partner, fresh_cache, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    calls = []

    def failing(**event):
        raise ValueError("cannot prepare the push")

    def working(**event):
        calls.append(event)

    handlers = {"test.failing": failing, "test.working": working}
    monkeypatch.setattr(receivers, "EVENT_HANDLERS", {"station.status_changed": tuple(handlers)})
    monkeypatch.setattr(receivers, "resolve", handlers.get)

    with caplog.at_level(logging.ERROR), schema_context(alpha.schema_name):
        with django_capture_on_commit_callbacks(execute=True):
            live_publish("station.status_changed", station_id=7, data={"status": "Faulted"})

    assert len(calls) == 1 and calls[0]["station_id"] == 7 and calls[0]["data"] == {"status": "Faulted"}
    assert "test.failing on station.status_changed failed" in caplog.text


def test_every_live_event_a_module_pushes_on_has_a_handler_name_or_none_yet(alpha):
    """The registry names functions in the module files; a module not built yet resolves to None (skipped)."""
    from apps.roaming.modules import EVENT_HANDLERS, resolve

    for dotted_names in EVENT_HANDLERS.values():
        for dotted in dotted_names:
            handler = resolve(dotted)
            assert handler is None or callable(handler)
    assert resolve("chargingprofiles.command_completed_answer") is not None
