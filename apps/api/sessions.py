"""Read endpoints for charging sessions: live and ended, one with its latest figures, and its meter series."""

import json
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import datetime, timedelta

from django.db.models import Prefetch, Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from apps.api.models import Scope
from apps.api.pagination import IdCursorPagination, ordering_from, paginated
from apps.api.permissions import object_or_404
from apps.api.schema import cursor_parameters, page_of
from apps.billing.models import Cdr
from apps.billing.selectors.cdrs import cdr_in_force_list
from apps.sessions.models import ChargingSession
from apps.sessions.selectors import DEFAULT_MEASURANDS, MEASURANDS, meter_series, session_list

SESSION_ORDERINGS = ("-started_at", "started_at")


class SessionStartPagination:
    """Sessions by start, latest first by default (`ordering=started_at` for oldest first), ids breaking ties: a
    keyset on (started_at, id), which the indexes on started_at, (station, started_at, id) and
    (upper(id_token_uid), started_at, id) serve on every page, with or without filters. The cursor holds the start
    and id of the page's last (or, going back, first) session. Same links and page sizes as IdCursorPagination."""

    sizes = IdCursorPagination()

    def paginate_queryset(self, queryset, request, view=None) -> list:
        self.request = request
        size = self.sizes.get_page_size(request)
        descending = ordering_from(request, SESSION_ORDERINGS, SESSION_ORDERINGS[0]).startswith("-")
        cursor = self._decode(request.query_params.get("cursor"))
        # Going forward in a descending list, or back in an ascending one, walks towards earlier starts.
        towards_earlier = cursor is None and descending or cursor is not None and cursor["back"] != descending
        order = ("-started_at", "-id") if towards_earlier else ("started_at", "id")
        if cursor is not None:
            at, pk = cursor["at"], cursor["id"]
            if towards_earlier:  # the first condition alone is an index range: deep pages start where they should
                queryset = queryset.filter(started_at__lte=at).filter(Q(started_at__lt=at) | Q(id__lt=pk))
            else:
                queryset = queryset.filter(started_at__gte=at).filter(Q(started_at__gt=at) | Q(id__gt=pk))
        rows = list(queryset.order_by(*order)[: size + 1])
        more = len(rows) > size
        back = cursor is not None and cursor["back"]
        self.has_next, self.has_previous = (True, more) if back else (more, cursor is not None)
        self.page = rows[:size][::-1] if back else rows[:size]
        return self.page

    def get_paginated_response(self, data) -> Response:
        next_link = self._link(self.page[-1], back=False) if self.has_next and self.page else None
        previous_link = self._link(self.page[0], back=True) if self.has_previous and self.page else None
        return Response({"next": next_link, "previous": previous_link, "results": data})

    def _link(self, session: ChargingSession, *, back: bool) -> str:
        position = {"at": session.started_at.isoformat(), "id": session.pk, "back": back}
        token = urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")
        return replace_query_param(self.request.build_absolute_uri(), "cursor", token)

    @staticmethod
    def _decode(token: str | None) -> dict | None:
        if token is None:
            return None
        try:
            position = json.loads(urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            at = datetime.fromisoformat(position["at"])
            pk = int(position["id"])
            if at.tzinfo is None or not 0 < pk < 2**63:
                raise ValueError("not a cursor the API gave")
            return {"at": at, "id": pk, "back": bool(position["back"])}
        except (ValueError, TypeError, KeyError):
            raise NotFound("Invalid cursor") from None


def _cdrs_in_force() -> Prefetch:
    """Each session's CDR in force (the newest revision not credited), in one query for a whole page."""
    return Prefetch("cdrs", queryset=cdr_in_force_list().order_by("-revision"), to_attr="cdrs_in_force")


def _cdr_in_force(session: ChargingSession) -> Cdr | None:
    cdrs = getattr(session, "cdrs_in_force", None)
    return cdrs[0] if cdrs else None


class CostOutput(serializers.Serializer):
    currency = serializers.CharField()
    excl_vat = serializers.DecimalField(max_digits=14, decimal_places=4, source="total_excl_vat")
    incl_vat = serializers.DecimalField(max_digits=14, decimal_places=4, source="total_incl_vat")


class SessionOutput(serializers.ModelSerializer):
    station = serializers.IntegerField(source="station_id", read_only=True)
    station_identity = serializers.CharField(source="station.identity", read_only=True)
    ended_at = serializers.DateTimeField(source="stopped_at", read_only=True, allow_null=True)
    power_w = serializers.SerializerMethodField(help_text="The latest active power, while the session is live")
    cdr = serializers.SerializerMethodField(help_text="The id of the session's CDR in force, once issued")
    cost = serializers.SerializerMethodField(help_text="What the CDR in force charges, once issued")

    class Meta:
        model = ChargingSession
        fields = (
            "id",
            "station",
            "station_identity",
            "evse_id",
            "connector_id",
            "transaction_id",
            "status",
            "id_token_uid",
            "id_token_type",
            "started_at",
            "ended_at",
            "meter_start_wh",
            "meter_stop_wh",
            "energy_wh",
            "power_w",
            "charging_state",
            "stop_reason",
            "offline",
            "register_anomaly",
            "cdr",
            "cost",
        )

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=3, allow_null=True))
    def get_power_w(self, session: ChargingSession) -> str | None:
        if session.status != ChargingSession.Status.ACTIVE or session.power_w is None:
            return None
        return serializers.DecimalField(max_digits=12, decimal_places=3).to_representation(session.power_w)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_cdr(self, session: ChargingSession) -> int | None:
        cdr = _cdr_in_force(session)
        return cdr.pk if cdr else None

    @extend_schema_field(CostOutput(allow_null=True))
    def get_cost(self, session: ChargingSession) -> dict | None:
        cdr = _cdr_in_force(session)
        return CostOutput(cdr).data if cdr else None


class SessionDetailOutput(SessionOutput):
    class Meta(SessionOutput.Meta):
        fields = (
            *SessionOutput.Meta.fields,
            "last_register_wh",
            "last_register_at",
            "authorization_status",
            "remote_start_id",
            "reservation_id",
            "created_at",
            "updated_at",
        )


class SessionListApi(APIView):
    required_scopes = [Scope.SESSIONS_READ]

    class FilterInput(serializers.Serializer):
        status = serializers.ChoiceField(choices=ChargingSession.Status.choices, required=False)
        station = serializers.IntegerField(required=False, min_value=1, help_text="A station's id")
        evse = serializers.IntegerField(required=False, min_value=0, help_text="An EVSE id (with `station`)")
        id_token = serializers.CharField(required=False, max_length=36, help_text="The ID token's uid, any case")
        started_after = serializers.DateTimeField(required=False, help_text="Started at or after")
        started_before = serializers.DateTimeField(required=False, help_text="Started before")
        ended_after = serializers.DateTimeField(required=False, help_text="Ended at or after")

    @extend_schema(
        parameters=[
            FilterInput,
            *cursor_parameters(SESSION_ORDERINGS, "-started_at: latest start first (default); started_at: oldest"),
        ],
        responses=page_of(SessionOutput),
    )
    def get(self, request):
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        sessions = session_list(
            status=data.get("status"),
            station_id=data.get("station"),
            evse_id=data.get("evse"),
            id_token_uid=data.get("id_token"),
            started_after=data.get("started_after"),
            started_before=data.get("started_before"),
            ended_after=data.get("ended_after"),
        )
        # A session has its start time from the transaction that creates it on: none is left out in effect, and a
        # cursor always has a start to hold.
        sessions = sessions.filter(started_at__isnull=False)
        return paginated(
            request, self, sessions, SessionOutput, prefetch=[_cdrs_in_force()], pagination_class=SessionStartPagination
        )


class SessionDetailApi(APIView):
    required_scopes = [Scope.SESSIONS_READ]

    @extend_schema(responses=SessionDetailOutput)
    def get(self, request, session_id: int):
        session = object_or_404(request, session_list().prefetch_related(_cdrs_in_force()), pk=session_id)
        return Response(SessionDetailOutput(session).data)


# --- The meter series ---------------------------------------------------------------------------------------------

INTERVALS = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "1d": timedelta(days=1),
}
RAW = "raw"
DEFAULT_POINTS = 500  # the default interval is the finest giving at most this many buckets
MAX_POINTS = 5000  # a finer interval (or raw, with more readings than this) is coarsened


def _session_span(session: ChargingSession) -> timedelta:
    start = session.started_at or session.created_at
    end = session.stopped_at or timezone.now()
    return max(end - start, timedelta(0))


def interval_finest(span: timedelta, *, points: int, at_least: timedelta = timedelta(0)) -> str:
    """The finest interval, not finer than `at_least`, that cuts `span` into at most `points` buckets."""
    for name, interval in INTERVALS.items():
        if interval >= at_least and span / interval <= points:
            return name
    return "1d"


class MeterPointOutput(serializers.Serializer):
    at = serializers.DateTimeField(help_text="The bucket's start (the reading's time when raw)")
    last = serializers.DecimalField(max_digits=20, decimal_places=6, help_text="The bucket's last reading")
    avg = serializers.DecimalField(max_digits=20, decimal_places=6, help_text="The mean of its readings")
    min = serializers.DecimalField(max_digits=20, decimal_places=6)
    max = serializers.DecimalField(max_digits=20, decimal_places=6)
    count = serializers.IntegerField(help_text="Readings in the bucket")


class MeterSeriesOutput(serializers.Serializer):
    measurand = serializers.CharField()
    unit = serializers.CharField(help_text="Every value is in this base unit: Wh, W, varh, var, A, V, Percent…")
    points = MeterPointOutput(many=True)


class MeterValuesOutput(serializers.Serializer):
    session = serializers.IntegerField()
    interval = serializers.ChoiceField(choices=[RAW, *INTERVALS], help_text="The interval used")
    series = MeterSeriesOutput(many=True)


class SessionMeterValuesApi(APIView):
    required_scopes = [Scope.SESSIONS_READ]

    class FilterInput(serializers.Serializer):
        measurand = serializers.CharField(required=False)
        interval = serializers.ChoiceField(choices=[RAW, *INTERVALS], required=False)

        def validate_measurand(self, value: str) -> list[str]:
            names = [name.strip() for name in value.split(",") if name.strip()]
            unknown = [name for name in names if name not in MEASURANDS]
            if unknown:
                raise serializers.ValidationError(f"Unknown measurand(s): {', '.join(unknown)}.")
            if not names:
                raise serializers.ValidationError("Name at least one measurand.")
            return list(dict.fromkeys(names))

    @extend_schema(
        operation_id="sessions_meter_values_retrieve",
        parameters=[
            OpenApiParameter(
                "measurand",
                {"type": "array", "items": {"type": "string", "enum": list(MEASURANDS)}, "minItems": 1},
                style="form",
                explode=False,
                description=f"OCPP measurands, comma-separated; default {','.join(DEFAULT_MEASURANDS)}",
            ),
            OpenApiParameter(
                "interval",
                str,
                enum=[RAW, *INTERVALS],
                description=f"Bucket length, or raw for every reading; default: the finest giving at most "
                f"{DEFAULT_POINTS} buckets. One that would give more than {MAX_POINTS} points is coarsened: the "
                "response names the interval used.",
            ),
        ],
        responses=MeterValuesOutput,
    )
    def get(self, request, session_id: int):
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        session = object_or_404(request, session_list(), pk=session_id)
        measurands = filters.validated_data.get("measurand", list(DEFAULT_MEASURANDS))
        span = _session_span(session)
        asked = filters.validated_data.get("interval")
        name = asked or interval_finest(span, points=DEFAULT_POINTS)
        series = None
        if name == RAW:
            series = meter_series(session=session, measurands=measurands, interval=None, limit=MAX_POINTS + 1)
            if any(len(points) > MAX_POINTS for points in series.values()):
                name, series = interval_finest(span, points=MAX_POINTS), None
        elif span / INTERVALS[name] > MAX_POINTS:
            name = interval_finest(span, points=MAX_POINTS, at_least=INTERVALS[name])
        if series is None:
            series = meter_series(session=session, measurands=measurands, interval=INTERVALS[name])
        return Response(
            MeterValuesOutput(
                {
                    "session": session.pk,
                    "interval": name,
                    "series": [
                        {"measurand": measurand, "unit": MEASURANDS[measurand].base_unit, "points": points}
                        for measurand, points in series.items()
                    ],
                }
            ).data
        )
