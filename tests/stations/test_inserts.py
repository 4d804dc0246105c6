"""The hot path's multi-row inserts: every row stored once, in the schema of the tenant at hand, whether the rows go
as one INSERT or (many of them) by COPY, at once or at the end of a batch."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.sessions.models import MeterSample
from apps.sessions.services import METER_SAMPLE_FIELDS
from apps.stations.inserts import rows_deferred, rows_insert
from apps.stations.models import MessageLogEntry
from apps.stations.services import MESSAGE_LOG_FIELDS
from tests.stations.factories import StationFactory

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def samples(station_id: int, count: int, first: int = 0) -> list[tuple]:
    return [
        (station_id, None, 1, AT + timedelta(seconds=n), "Energy.Active.Import.Register", "", "Outlet",
         "Sample.Periodic", "Wh", Decimal(n), Decimal(n), "")
        for n in range(first, first + count)
    ]  # fmt: skip


def log_rows(station_id: int, count: int) -> list[tuple]:
    return [
        (station_id, "in", 2, f"m-{n}", "MeterValues", {"connectorId": 1, "n": n}, "", "", AT, None)
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [3, 400], ids=["one INSERT", "COPY"])
def test_rows_already_stored_are_skipped_and_counted_out(tenant_schema, count):
    station = StationFactory()

    assert rows_insert(MeterSample, METER_SAMPLE_FIELDS, samples(station.pk, count), ignore_conflicts=True) == count
    again = samples(station.pk, count, first=count // 2) + samples(station.pk, 2, first=count * 3) * 2
    assert rows_insert(MeterSample, METER_SAMPLE_FIELDS, again, ignore_conflicts=True) == count // 2 + 2

    stored = MeterSample.objects.filter(station=station)
    assert stored.count() == count + count // 2 + 2
    assert sorted(stored.values_list("value", flat=True))[:3] == [Decimal(0), Decimal(1), Decimal(2)]


@pytest.mark.parametrize("count", [2, 300], ids=["one INSERT", "COPY"])
def test_log_payloads_are_stored_as_json(tenant_schema, count):
    station = StationFactory()

    rows_insert(MessageLogEntry, MESSAGE_LOG_FIELDS, log_rows(station.pk, count))

    last = MessageLogEntry.objects.get(station=station, message_id=f"m-{count - 1}")
    assert last.payload == {"connectorId": 1, "n": count - 1}
    assert MessageLogEntry.objects.filter(station=station).count() == count


def test_copied_rows_land_in_the_schema_of_the_tenant_at_hand(tenant, outsider):
    with schema_context(tenant.schema_name):
        ours = StationFactory()
        rows_insert(MeterSample, METER_SAMPLE_FIELDS, samples(ours.pk, 300), ignore_conflicts=True)
    with schema_context(outsider.schema_name):  # the same connection, its staging table reused
        theirs = StationFactory()
        rows_insert(MeterSample, METER_SAMPLE_FIELDS, samples(theirs.pk, 200), ignore_conflicts=True)
        assert MeterSample.objects.count() == 200
    with schema_context(tenant.schema_name):
        assert MeterSample.objects.count() == 300
    assert connection.schema_name == "public"


def test_deferred_rows_go_out_when_the_block_ends_and_not_after_an_error(tenant_schema):
    station = StationFactory()

    with rows_deferred():
        assert rows_insert(MeterSample, METER_SAMPLE_FIELDS, samples(station.pk, 5), ignore_conflicts=True) is None
        rows_insert(MeterSample, METER_SAMPLE_FIELDS, samples(station.pk, 5, first=5), ignore_conflicts=True)
        assert not MeterSample.objects.filter(station=station).exists()
    assert MeterSample.objects.filter(station=station).count() == 10

    with pytest.raises(RuntimeError), rows_deferred():
        rows_insert(MeterSample, METER_SAMPLE_FIELDS, samples(station.pk, 5, first=50), ignore_conflicts=True)
        raise RuntimeError("the batch failed")
    assert MeterSample.objects.filter(station=station).count() == 10
    assert rows_insert(MeterSample, METER_SAMPLE_FIELDS, samples(station.pk, 1, first=60), ignore_conflicts=True) == 1
