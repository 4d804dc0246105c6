"""Station groups (named sets of stations: the stations of some locations, or a list), and runs of one remote
operation over a group's stations in waves (apps.groups): started per operation, read with their progress and
per-station outcomes, cancelled."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.commands import operation_body, operation_paths, operations_check_control_fields
from apps.api.models import Scope
from apps.api.pagination import paginated
from apps.api.permissions import object_or_404
from apps.api.schema import CURSOR_PARAMETERS, ErrorBody, page_of
from apps.api.tariffs import Conflict
from apps.commands.models import Command
from apps.commands.operations import OPERATIONS, Operation
from apps.groups.exceptions import WavesNeedWorkerError
from apps.groups.models import GroupRun, GroupRunItem, StationGroup
from apps.groups.selectors import Progress, group_list, group_run_items, group_run_list, group_stations
from apps.groups.services import group_run_cancel, group_run_start, waves_of
from apps.groups.tasks import group_run_launch, tasks_run_inline


class GroupOutput(serializers.ModelSerializer):
    locations = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Location groups: every station at these locations is a member"
    )
    station_count = serializers.IntegerField(read_only=True, help_text="Members now")

    class Meta:
        model = StationGroup
        fields = ("id", "name", "description", "kind", "locations", "station_count", "created_at")
        read_only_fields = fields


class GroupDetailOutput(GroupOutput):
    stations = serializers.ListField(
        child=serializers.IntegerField(),
        source="member_ids",
        read_only=True,
        help_text="The ids of the member stations now, ascending",
    )

    class Meta(GroupOutput.Meta):
        fields = (*GroupOutput.Meta.fields, "stations")


class GroupListApi(APIView):
    required_scopes = [Scope.GROUPS_READ]

    class FilterInput(serializers.Serializer):
        kind = serializers.ChoiceField(choices=StationGroup.Kind.choices, required=False)
        station = serializers.IntegerField(required=False, min_value=1, help_text="Only groups this station is in")

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(GroupOutput))
    def get(self, request):
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        groups = group_list(
            kind=filters.validated_data.get("kind"), station_id=filters.validated_data.get("station")
        ).prefetch_related("locations")
        return paginated(request, self, groups, GroupOutput)


class GroupDetailApi(APIView):
    required_scopes = [Scope.GROUPS_READ]

    @extend_schema(responses=GroupDetailOutput)
    def get(self, request, group_id: int):
        group = object_or_404(request, group_list().prefetch_related("locations"), pk=group_id)
        group.member_ids = list(group_stations(group).order_by("pk").values_list("pk", flat=True))
        return Response(GroupDetailOutput(group).data)


# --- group runs ---------------------------------------------------------------------------------------------------

RUN_FIELDS = ("wave_size", "wave_interval_s", "stop_on_failure_rate")
operations_check_control_fields(RUN_FIELDS)
PG_INT_MAX = 2_147_483_647  # the columns' bound
WAVES_NEED_WORKER = (
    "This platform runs without a Celery worker: only a run in one wave can be sent (in the request). "
    "Use 0 (all at once) or at least the group's station count."
)

# An item's outcome: its command's status once sent, else why not.
NOT_SENT, REFUSED = "not_sent", "refused"
ITEM_OUTCOMES = [
    (NOT_SENT, "Not sent (yet): its wave has not gone out, or the run ended before it"),
    (REFUSED, "Not sent: the station cannot take the operation (see refusal)"),
    *Command.Status.choices,
]


class GroupRunProgressOutput(serializers.Serializer):
    total = serializers.IntegerField(help_text="Stations in the run")
    done = serializers.IntegerField(help_text="Stations whose outcome is known (including refused ones)")
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    timeout = serializers.IntegerField()
    offline = serializers.IntegerField()
    error = serializers.IntegerField(help_text="Errors, including stations refused before sending")
    in_flight = serializers.IntegerField(help_text="Sent, outcome not known yet")
    not_sent = serializers.IntegerField(help_text="Waves not sent yet (or never, once the run has ended)")


class GroupRunOutput(serializers.ModelSerializer):
    group = serializers.IntegerField(
        source="group_id", read_only=True, allow_null=True, help_text="null once the group was deleted"
    )
    client_id = serializers.CharField(
        source="requested_by_client",
        read_only=True,
        help_text="The API client that started it (key:<prefix> or oauth:<client_id>); empty if not the API",
    )
    is_active = serializers.BooleanField(read_only=True, help_text="Pending or running: more may be sent")
    progress = serializers.SerializerMethodField()

    class Meta:
        model = GroupRun
        fields = (
            "id",
            "group",
            "group_name",
            "operation",
            "params",
            "wave_size",
            "wave_interval_s",
            "stop_on_failure_rate",
            "waves",
            "current_wave",
            "next_wave_at",
            "status",
            "is_active",
            "detail",
            "source",
            "client_id",
            "progress",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields

    @extend_schema_field(GroupRunProgressOutput)
    def get_progress(self, run: GroupRun) -> dict:
        progress = Progress.of(run)  # counted in SQL by group_run_list
        return {name: getattr(progress, name) for name in GroupRunProgressOutput().fields}


class GroupRunItemOutput(serializers.ModelSerializer):
    station = serializers.IntegerField(source="station_id", read_only=True)
    station_identity = serializers.CharField(source="station.identity", read_only=True)
    command = serializers.IntegerField(
        source="command_id", read_only=True, allow_null=True, help_text="The command sent (GET /commands/{id}/)"
    )
    outcome = serializers.SerializerMethodField()

    class Meta:
        model = GroupRunItem
        fields = ("station", "station_identity", "wave", "command", "outcome", "refusal")
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=ITEM_OUTCOMES))
    def get_outcome(self, item: GroupRunItem) -> str:
        if item.command_status:
            return item.command_status
        return REFUSED if item.refusal else NOT_SENT


class GroupRunDetailOutput(GroupRunOutput):
    items = GroupRunItemOutput(
        many=True, source="item_rows", read_only=True, help_text="Every station of the run, in wave order"
    )

    class Meta(GroupRunOutput.Meta):
        fields = (*GroupRunOutput.Meta.fields, "items")
        read_only_fields = fields


def run_detail(request, run_id: int) -> dict:
    run = object_or_404(request, group_run_list(), pk=run_id)
    run.item_rows = list(group_run_items(run))
    return GroupRunDetailOutput(run).data


class GroupRunStartApi(APIView):
    """Base of the generated per-operation views (`group_run_start_paths`)."""

    required_scopes = [Scope.COMMANDS_WRITE]
    operation: Operation
    Input: type[serializers.Serializer]

    def start(self, request, group_id: int) -> Response:
        # The group first: another brand's group id is unknown here, whatever the body says.
        group = object_or_404(request, group_list(), pk=group_id)
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        options = {name: body.validated_data[name] for name in RUN_FIELDS}
        if tasks_run_inline() and waves_of(group_stations(group).count(), options["wave_size"]) > 1:
            raise ValidationError({"wave_size": [WAVES_NEED_WORKER]})
        run = group_run_start(
            group=group,
            operation=self.operation.name,
            params={name: value for name, value in request.data.items() if name not in RUN_FIELDS},
            source=Command.Source.API,
            requested_by_client=request.user.client_id,
            **options,
        )
        try:
            run = group_run_launch(run)
        except WavesNeedWorkerError as error:  # the group grew since the check above
            raise ValidationError({"wave_size": [str(error)]}) from error
        location = request.build_absolute_uri(reverse("api:group-run-detail", kwargs={"run_id": run.pk}))
        return Response(run_detail(request, run.pk), status=status.HTTP_202_ACCEPTED, headers={"Location": location})


def _run_input_of(operation: Operation) -> type[serializers.Serializer]:
    return operation_body(
        operation,
        suffix="GroupRun",
        doc=f"{operation.label} on every station of the group: its parameters, and the run's waves.",
        module=__name__,
        control_fields={
            "wave_size": serializers.IntegerField(
                min_value=0, max_value=PG_INT_MAX, default=0, help_text="Stations per wave; 0: all at once"
            ),
            "wave_interval_s": serializers.IntegerField(
                min_value=0,
                max_value=PG_INT_MAX,
                default=0,
                help_text="Seconds between a wave's outcomes and the next wave",
            ),
            "stop_on_failure_rate": serializers.IntegerField(
                min_value=0,
                max_value=100,
                default=None,
                allow_null=True,
                help_text="Stop the run when more than this percentage of a wave did not accept; null: never stop",
            ),
        },
    )


def _run_view(operation: Operation) -> type[GroupRunStartApi]:
    versions = " and ".join(sorted(operation.protocols))
    input_class = _run_input_of(operation)

    @extend_schema(
        operation_id=f"group_run_{operation.name}",
        summary=f"{operation.label} on a group",
        description=(
            f"Start a run of `{operation.name}` ({versions}) on the stations the group has now, ordered by identity "
            "and split into waves of `wave_size`. The answer (202) is the run; `Location` names it, to poll. With "
            "a Celery worker the waves go out in the background; without one only a single-wave run is accepted "
            "and it is sent within the request, so the answer carries its outcomes. A station whose protocol "
            "version lacks the operation is not sent to (`refused`). An empty group is a 400 naming `group`."
        ),
        tags=["group runs"],
        request=input_class,
        responses={202: OpenApiResponse(GroupRunDetailOutput, "The run, with its stations")},
        parameters=[
            OpenApiParameter(
                "Location", str, OpenApiParameter.HEADER, response=[202], description="The run's URL, to poll"
            )
        ],
    )
    def post(self, request, group_id: int):
        return self.start(request, group_id)

    return type(
        f"{input_class.__name__}Api",
        (GroupRunStartApi,),
        {"__module__": __name__, "operation": operation, "Input": input_class, "post": post},
    )


def group_run_start_paths() -> list:
    return operation_paths(
        parent="groups", kwarg="group_id", collection="runs", view_of=_run_view, url_name="group-run-start"
    )


class GroupRunListApi(APIView):
    required_scopes = [Scope.COMMANDS_READ]

    class FilterInput(serializers.Serializer):
        group = serializers.IntegerField(required=False, min_value=1, help_text="Runs of this group")
        status = serializers.ChoiceField(choices=GroupRun.Status.choices, required=False)
        operation = serializers.ChoiceField(choices=list(OPERATIONS), required=False)
        source = serializers.ChoiceField(choices=Command.Source.choices, required=False)

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(GroupRunOutput))
    def get(self, request):
        """Newest first, whoever started them (the admin or the API), each with its progress."""
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        runs = group_run_list(
            group_id=data.get("group"),
            status=data.get("status"),
            operation=data.get("operation"),
            source=data.get("source"),
        )
        return paginated(request, self, runs, GroupRunOutput, ordering="-id")


class GroupRunDetailApi(APIView):
    required_scopes = [Scope.COMMANDS_READ]

    @extend_schema(responses=GroupRunDetailOutput)
    def get(self, request, run_id: int):
        return Response(run_detail(request, run_id))


class GroupRunCancelApi(APIView):
    required_scopes = [Scope.COMMANDS_WRITE]

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(GroupRunDetailOutput, "Cancelled (also if it already was)"),
            409: OpenApiResponse(ErrorBody, "`group_run_finished`: the run had completed or stopped"),
        },
    )
    def post(self, request, run_id: int):
        """Send no further wave. A wave already out finishes: its commands are with the stations."""
        run = group_run_cancel(object_or_404(request, group_run_list(), pk=run_id))
        if run.status != GroupRun.Status.CANCELLED:
            raise Conflict(f"The run has already ended: {run.status}.", code="group_run_finished")
        return Response(run_detail(request, run.pk))
