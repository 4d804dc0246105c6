"""Charging sessions over the API: live and ended, filters, newest first, their CDR and cost, the meter series
aggregated in SQL, ownership, scopes and bad input."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from apps.api.models import Scope
from apps.sessions.models import ChargingSession, MeterSample
from tests.api.conftest import api_client, key_in
from tests.billing.factories import session_billed
from tests.sessions.factories import ChargingSessionFactory, IdTokenFactory, MeterSampleFactory
from tests.stations.factories import StationFactory

Status = ChargingSession.Status
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def test_session_list_shows_live_and_ended_sessions_latest_start_first(tenant, outsider, alpha_api):
    with schema_context(tenant.schema_name):
        station = StationFactory(identity="CP-ALPHA-1")
        ended = ChargingSessionFactory(
            station=station,
            status=Status.COMPLETED,
            started_at=T0,
            stopped_at=T0 + timedelta(hours=1),
            meter_stop_wh=Decimal("7400"),
            energy_wh=Decimal("7400"),
            power_w=Decimal("3700"),
            stop_reason="EVDisconnected",
        )
        live = ChargingSessionFactory(
            station=station,
            evse_id=2,
            id_token_uid="04AABB",
            energy_wh=Decimal("1200.5"),
            power_w=Decimal("11000"),
            charging_state="Charging",
        )
    with schema_context(outsider.schema_name):
        ChargingSessionFactory()

    response = alpha_api.get("/api/v1/sessions/")

    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [live.pk, ended.pk]
    assert rows[0] | {"started_at": None} == {
        "id": live.pk,
        "station": station.pk,
        "station_identity": "CP-ALPHA-1",
        "evse_id": 2,
        "connector_id": 1,
        "transaction_id": live.transaction_id,
        "status": "active",
        "id_token_uid": "04AABB",
        "id_token_type": "",
        "started_at": None,
        "ended_at": None,
        "meter_start_wh": "0.000",
        "meter_stop_wh": None,
        "energy_wh": "1200.500",
        "power_w": "11000.000",
        "charging_state": "Charging",
        "stop_reason": "",
        "offline": False,
        "register_anomaly": False,
        "cdr": None,
        "cost": None,
    }
    # An ended session has no current power, whatever its last reading was.
    assert (rows[1]["status"], rows[1]["power_w"], rows[1]["ended_at"]) == ("completed", None, "2026-05-04T09:00:00Z")
    assert (rows[1]["energy_wh"], rows[1]["stop_reason"]) == ("7400.000", "EVDisconnected")


def test_session_list_filters(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        station, other_station = StationFactory(), StationFactory()
        early = ChargingSessionFactory(
            station=station, status=Status.COMPLETED, started_at=T0, stopped_at=T0 + timedelta(hours=2)
        )
        late = ChargingSessionFactory(
            station=station, evse_id=2, started_at=T0 + timedelta(days=1), id_token_uid="04ABCD"
        )
        elsewhere = ChargingSessionFactory(station=other_station, started_at=T0 + timedelta(days=2))

    def ids(**filters) -> list[int]:
        response = alpha_api.get("/api/v1/sessions/", filters)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(station=station.pk) == [late.pk, early.pk]
    assert ids(station=station.pk, evse=2) == [late.pk]
    assert ids(status="active") == [elsewhere.pk, late.pk]
    assert ids(status="completed") == [early.pk]
    assert ids(id_token="04abcd") == [late.pk]  # uids compare without case
    assert ids(started_after="2026-05-05T00:00:00Z") == [elsewhere.pk, late.pk]
    assert ids(started_before="2026-05-05T08:00:00Z") == [early.pk]
    assert ids(started_after="2026-05-05T00:00:00Z", started_before="2026-05-06T00:00:00Z") == [late.pk]
    assert ids(ended_after="2026-05-04T09:59:00Z") == [early.pk]
    assert ids(ended_after="2026-05-04T10:01:00Z") == []
    assert ids(started_after="2026-05-05T02:00:00+02:00") == [elsewhere.pk, late.pk]  # offsets are honoured


def test_session_list_pages_newest_first_with_a_next_cursor(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        sessions = ChargingSessionFactory.create_batch(3)

    first = alpha_api.get("/api/v1/sessions/", {"page_size": 2}).json()
    second = alpha_api.get(first["next"]).json()

    assert [row["id"] for row in first["results"]] == [sessions[2].pk, sessions[1].pk]
    assert [row["id"] for row in second["results"]] == [sessions[0].pk]
    assert second["next"] is None


def test_session_list_orders_by_start_and_pages_through_sessions_that_started_together(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        latest = ChargingSessionFactory(started_at=T0 + timedelta(hours=2))
        together = ChargingSessionFactory.create_batch(3, started_at=T0)
        late_arrival = ChargingSessionFactory(started_at=T0 + timedelta(hours=1))  # reported after an outage

    seen, page = [], alpha_api.get("/api/v1/sessions/", {"page_size": 2}).json()
    while True:
        seen += [row["id"] for row in page["results"]]
        if page["next"] is None:
            break
        page = alpha_api.get(page["next"]).json()

    assert seen == [latest.pk, late_arrival.pk, *(session.pk for session in reversed(together))]
    back = alpha_api.get(page["previous"]).json()
    assert [row["id"] for row in back["results"]] == seen[2:4]


def test_session_list_pages_oldest_first_both_ways_when_asked(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        latest = ChargingSessionFactory(started_at=T0 + timedelta(hours=2))
        together = ChargingSessionFactory.create_batch(3, started_at=T0)
        middle = ChargingSessionFactory(started_at=T0 + timedelta(hours=1))
    expected = [*(session.pk for session in together), middle.pk, latest.pk]

    pages, page = [], alpha_api.get("/api/v1/sessions/", {"page_size": 2, "ordering": "started_at"}).json()
    while True:
        pages.append([row["id"] for row in page["results"]])
        if page["next"] is None:
            break
        page = alpha_api.get(page["next"]).json()
    backwards = []
    while page["previous"] is not None:
        page = alpha_api.get(page["previous"]).json()
        backwards.append([row["id"] for row in page["results"]])

    assert [pk for rows in pages for pk in rows] == expected
    assert backwards == pages[-2::-1]


def test_an_unknown_ordering_is_refused(alpha_api):
    response = alpha_api.get("/api/v1/sessions/", {"ordering": "energy"})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"ordering": ["One of: -started_at, started_at."]}


@pytest.mark.parametrize("cursor", ["garbage", "eyJhdCI6IjIwMjYtMDUtMDRUMDg6MDA6MDAiLCJpZCI6MSwiYmFjayI6ZmFsc2V9", ""])
def test_a_forged_cursor_is_refused(alpha_api, cursor):
    response = alpha_api.get("/api/v1/sessions/", {"cursor": cursor})

    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "Invalid cursor", "fields": {}}


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"status": "charging"}, "status"),
        ({"started_after": "yesterday"}, "started_after"),
        ({"started_before": "2026-13-01"}, "started_before"),
        ({"ended_after": "2026-05-04T25:00"}, "ended_after"),
        ({"station": "CP-1"}, "station"),
        ({"evse": "-1"}, "evse"),
        ({"id_token": "x" * 37}, "id_token"),
    ],
)
def test_session_list_refuses_bad_filters_naming_the_field(alpha_api, filters, field):
    response = alpha_api.get("/api/v1/sessions/", filters)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert list(response.json()["error"]["fields"]) == [field]


def test_session_list_costs_a_fixed_number_of_queries_whatever_the_page_length(
    tenant, alpha_api, django_assert_max_num_queries
):
    with schema_context(tenant.schema_name):
        session_billed()
        ChargingSessionFactory()

    with CaptureQueriesContext(connection) as few:
        assert alpha_api.get("/api/v1/sessions/").status_code == 200
    with schema_context(tenant.schema_name):
        for _ in range(3):
            session_billed()
        ChargingSessionFactory.create_batch(20, station=StationFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = alpha_api.get("/api/v1/sessions/")

    rows = response.json()["results"]
    assert len(rows) == 25
    assert sum(row["cdr"] is not None for row in rows) == 4


def test_session_shows_its_cdr_and_cost_once_billed(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        session, cdr, _ = session_billed()

    row = alpha_api.get("/api/v1/sessions/", {"station": session.station_id}).json()["results"][0]
    detail = alpha_api.get(f"/api/v1/sessions/{session.pk}/").json()

    for body in (row, detail):
        assert body["cdr"] == cdr.pk
        assert body["cost"] == {"currency": "EUR", "excl_vat": "4.9500", "incl_vat": "5.9900"}


def test_session_detail_has_its_latest_figures(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        token = IdTokenFactory(uid="04A1B2")
        session = ChargingSessionFactory(
            id_token=token,
            id_token_uid="04A1B2",
            id_token_type="ISO14443",
            started_at=T0,
            last_register_wh=Decimal("5100"),
            last_register_at=T0 + timedelta(minutes=30),
            energy_wh=Decimal("5100"),
            power_w=Decimal("10200.5"),
            remote_start_id=7,
        )

    response = alpha_api.get(f"/api/v1/sessions/{session.pk}/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"], body["id_token_uid"], body["remote_start_id"]) == (
        session.pk,
        "active",
        "04A1B2",
        7,
    )
    assert (body["energy_wh"], body["power_w"]) == ("5100.000", "10200.500")
    assert (body["last_register_wh"], body["last_register_at"]) == ("5100.000", "2026-05-04T08:30:00Z")
    assert (body["cdr"], body["cost"]) == (None, None)


def test_another_brands_key_is_unknown_here(tenant, outsider):
    bravo_key = key_in(outsider)

    response = api_client("alpha.localhost", bravo_key).get("/api/v1/sessions/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_unknown"


def test_another_brands_session_is_not_found(tenant, outsider, alpha_api):
    with schema_context(outsider.schema_name):
        theirs = ChargingSessionFactory()
        MeterSampleFactory(session=theirs)
    # Our ids must not be taken for theirs: make sure no session of ours has that id.
    with schema_context(tenant.schema_name):
        assert not ChargingSession.objects.filter(pk=theirs.pk).exists()

    for path in (f"/api/v1/sessions/{theirs.pk}/", f"/api/v1/sessions/{theirs.pk}/meter-values/"):
        response = alpha_api.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/sessions/", "/api/v1/sessions/1/", "/api/v1/sessions/1/meter-values/"])
def test_sessions_need_the_sessions_read_scope(tenant, path):
    key = key_in(tenant, scopes=[Scope.STATIONS_READ, Scope.CDRS_READ])

    response = api_client("alpha.localhost", key).get(path)

    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "scope_missing",
        "message": "This credential lacks the scope(s): sessions:read.",
        "fields": {},
    }


# --- The meter series ---------------------------------------------------------------------------------------------


def _sample(session, minute: float, value, *, measurand="Energy.Active.Import.Register", unit="Wh", **kwargs):
    return MeterSampleFactory(
        session=session,
        sampled_at=T0 + timedelta(minutes=minute),
        measurand=measurand,
        unit=unit,
        value=Decimal(value),
        **kwargs,
    )


@pytest.fixture
def metered_session(tenant):
    """Ten minutes of charging from 08:00: the register every minute (+100 Wh), power every 2 minutes, sent as
    three phases (summed), and a few readings that must not count."""
    with schema_context(tenant.schema_name):
        session = ChargingSessionFactory(
            status=Status.COMPLETED, started_at=T0, stopped_at=T0 + timedelta(minutes=10), meter_start_wh=1000
        )
        for minute in range(11):
            _sample(session, minute, 1000 + 100 * minute)
        for minute, watts in ((0, 3000), (2, 6000), (4, 6600), (6, 7200), (8, 1500), (10, 0)):
            for phase in ("L1", "L2", "L3"):
                _sample(session, minute, watts / 3, measurand="Power.Active.Import", unit="W", phase=phase)
        # Kilowatts are stored with their value in W; a register read at the grid meter is another meter's.
        _sample(session, 3, "6.3", measurand="Power.Active.Import", unit="kW", value_normalised=Decimal(6300))
        _sample(session, 5, 99999, location="Grid")
        _sample(session, 7, 5, measurand="Power.Active.Import", unit="A")  # not a power unit: left out
        _sample(session, 4, 230, measurand="Voltage", unit="V", phase="L1-N")
        _sample(session, 4, 232, measurand="Voltage", unit="V", phase="L2-N")
    return session


def test_meter_values_in_five_minute_buckets(metered_session, alpha_api):
    response = alpha_api.get(f"/api/v1/sessions/{metered_session.pk}/meter-values/", {"interval": "5m"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["session"], body["interval"]) == (metered_session.pk, "5m")
    energy, power = body["series"]
    assert (energy["measurand"], energy["unit"]) == ("Energy.Active.Import.Register", "Wh")
    assert [(p["at"], p["last"], p["min"], p["count"]) for p in energy["points"]] == [
        ("2026-05-04T08:00:00Z", "1400.000000", "1000.000000", 5),
        ("2026-05-04T08:05:00Z", "1900.000000", "1500.000000", 5),
        ("2026-05-04T08:10:00Z", "2000.000000", "2000.000000", 1),
    ]
    assert (power["measurand"], power["unit"]) == ("Power.Active.Import", "W")
    # 08:00–08:05: 3000, 6000, 6300 (the kW reading) and 6600 W; 08:05–08:10: 7200 and 1500 W; 08:10: 0 W.
    assert [(p["at"], p["avg"], p["max"], p["last"], p["count"]) for p in power["points"]] == [
        ("2026-05-04T08:00:00Z", "5475.000000", "6600.000000", "6600.000000", 4),
        ("2026-05-04T08:05:00Z", "4350.000000", "7200.000000", "1500.000000", 2),
        ("2026-05-04T08:10:00Z", "0.000000", "0.000000", "0.000000", 1),
    ]


def test_meter_values_default_interval_bounds_the_points(metered_session, alpha_api):
    body = alpha_api.get(f"/api/v1/sessions/{metered_session.pk}/meter-values/").json()

    assert body["interval"] == "1m"
    assert [len(series["points"]) for series in body["series"]] == [11, 7]


def test_a_long_session_gets_a_coarser_default_interval(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        session = ChargingSessionFactory(started_at=T0, stopped_at=T0 + timedelta(days=4), status=Status.COMPLETED)
        for hour in range(0, 96, 6):
            _sample(session, hour * 60, 1000 * hour)

    body = alpha_api.get(f"/api/v1/sessions/{session.pk}/meter-values/").json()

    assert body["interval"] == "15m"  # 96 h / 15 min = 384 buckets
    assert len(body["series"][0]["points"]) == 16
    # 1-minute buckets would be 5760 of them: the finest interval within 5000 points is used, and named.
    coarsened = alpha_api.get(f"/api/v1/sessions/{session.pk}/meter-values/", {"interval": "1m"}).json()
    assert coarsened["interval"] == "5m"
    assert len(coarsened["series"][0]["points"]) == 16


def test_meter_values_raw_and_other_measurands(metered_session, alpha_api):
    path = f"/api/v1/sessions/{metered_session.pk}/meter-values/"

    raw = alpha_api.get(path, {"interval": "raw", "measurand": "Power.Active.Import"}).json()
    voltage = alpha_api.get(path, {"measurand": "Voltage", "interval": "1h"}).json()

    [power] = raw["series"]
    assert raw["interval"] == "raw"
    assert [(p["at"][11:16], p["last"]) for p in power["points"]] == [
        ("08:00", "3000.000000"),
        ("08:02", "6000.000000"),
        ("08:03", "6300.000000"),
        ("08:04", "6600.000000"),
        ("08:06", "7200.000000"),
        ("08:08", "1500.000000"),
        ("08:10", "0.000000"),
    ]
    # Voltage per phase is averaged, not summed.
    assert voltage["series"] == [
        {
            "measurand": "Voltage",
            "unit": "V",
            "points": [
                {
                    "at": "2026-05-04T08:00:00Z",
                    "last": "231.000000",
                    "avg": "231.000000",
                    "min": "231.000000",
                    "max": "231.000000",
                    "count": 1,
                }
            ],
        }
    ]


def test_raw_readings_beyond_the_bound_come_in_the_finest_buckets_instead(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        session = ChargingSessionFactory(started_at=T0, stopped_at=T0 + timedelta(hours=2), status=Status.COMPLETED)
        MeterSample.objects.bulk_create(
            MeterSampleFactory.build(session=session, sampled_at=T0 + timedelta(seconds=second), value=second)
            for second in range(5001)
        )

    body = alpha_api.get(f"/api/v1/sessions/{session.pk}/meter-values/", {"interval": "raw"}).json()

    assert body["interval"] == "1m"
    energy = body["series"][0]["points"]
    assert (len(energy), energy[0]["count"], energy[0]["last"], energy[-1]["last"]) == (
        84,
        60,
        "59.000000",
        "5000.000000",
    )


def test_meter_values_of_a_session_without_samples_are_empty_series(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        session = ChargingSessionFactory()

    body = alpha_api.get(f"/api/v1/sessions/{session.pk}/meter-values/").json()

    assert body["series"] == [
        {"measurand": "Energy.Active.Import.Register", "unit": "Wh", "points": []},
        {"measurand": "Power.Active.Import", "unit": "W", "points": []},
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"interval": "2m"}, "interval"),
        ({"interval": ""}, "interval"),
        ({"measurand": "Energy.Bogus"}, "measurand"),
        ({"measurand": ","}, "measurand"),
    ],
)
def test_meter_values_refuse_bad_params_naming_the_field(metered_session, alpha_api, params, field):
    response = alpha_api.get(f"/api/v1/sessions/{metered_session.pk}/meter-values/", params)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
