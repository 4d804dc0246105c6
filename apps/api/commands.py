"""Remote operations over the API: one endpoint per operation (its own body, validated by its own serializer) to
send it to a station, and reads of the commands sent, whoever sent them.

Sending calls `command_send`, which blocks until the station answers or the timeout passes when `wait` is true.
That is fine for a sync view under daphne: each request runs in its own thread, so a waiting request holds one
thread and one database connection (outside any transaction: ATOMIC_REQUESTS is off) for at most about
`timeout_s` seconds, and no other request waits for it. Clients sending many commands should use `"wait": false`
and poll the command (or take the `command.completed` webhook).
"""

from django.core.exceptions import ImproperlyConfigured
from django.urls import path, re_path, reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.models import Scope
from apps.api.pagination import paginated
from apps.api.permissions import object_or_404
from apps.api.schema import CURSOR_PARAMETERS, page_of
from apps.api.stations import station_or_404
from apps.commands.models import Command
from apps.commands.operations import OPERATIONS, Operation
from apps.commands.selectors import command_list
from apps.commands.services import DEFAULT_TIMEOUT_S, command_send

# How long a caller may ask to wait for the station's answer: longer belongs to `"wait": false` and polling.
MAX_TIMEOUT_S = 60
CONTROL_FIELDS = ("wait", "timeout_s")


def operations_check_control_fields(names: tuple[str, ...]) -> None:
    """A body is an operation's parameters plus control fields: no parameter may be named like one of them."""
    if clashes := {name for name, op in OPERATIONS.items() if set(names) & set(op.params().fields)}:
        raise ImproperlyConfigured(f"Operations with a parameter named like a control field: {sorted(clashes)}")


operations_check_control_fields(CONTROL_FIELDS)


def _choices_of(operation: str, field: str) -> list[tuple[str, str]]:
    return list(OPERATIONS[operation].params().fields[field].choices.items())


# Choice sets whose field name others share ("kind"), named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].
RESET_KIND_CHOICES = _choices_of("reset", "kind")
CHARGING_PROFILE_KIND_CHOICES = _choices_of("set_charging_profile", "kind")


class CommandOutput(serializers.ModelSerializer):
    station = serializers.IntegerField(source="station_id", read_only=True)
    client_id = serializers.CharField(
        source="requested_by_client",
        read_only=True,
        help_text="The API client that sent it (key:<prefix> or oauth:<client_id>); empty if not sent by the API",
    )
    is_final = serializers.BooleanField(read_only=True, help_text="Whether the outcome is known (it never changes)")

    class Meta:
        model = Command
        fields = (
            "id",
            "station",
            "operation",
            "params",
            "status",
            "is_final",
            "source",
            "client_id",
            "timeout_s",
            "protocol",
            "action",
            "message_id",
            "request",
            "response",
            "answer_status",
            "detail",
            "progress",
            "created_at",
            "sent_at",
            "completed_at",
        )
        read_only_fields = fields


class CommandSendApi(APIView):
    """Base of the generated per-operation views (`command_send_paths`)."""

    required_scopes = [Scope.COMMANDS_WRITE]
    operation: Operation
    Input: type[serializers.Serializer]

    def send(self, request, station_id: int) -> Response:
        # The station first: another brand's station id is unknown here, whatever the body says.
        station = station_or_404(request, station_id)
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        params = {name: value for name, value in request.data.items() if name not in CONTROL_FIELDS}
        wait = body.validated_data["wait"]
        command = command_send(
            wait=wait,
            station=station,
            operation=self.operation.name,
            params=params,
            source=Command.Source.API,
            requested_by_client=request.user.client_id,
            requested_by=request.user.user,  # the person, for a token they authorized
            timeout_s=body.validated_data["timeout_s"],
        )
        if wait:
            return Response(CommandOutput(command).data)
        location = request.build_absolute_uri(reverse("api:command-detail", kwargs={"command_id": command.pk}))
        return Response(CommandOutput(command).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


def operation_body(
    operation: Operation, *, suffix: str, doc: str, control_fields: dict[str, serializers.Field], module: str
) -> type[serializers.Serializer]:
    """The operation's parameters plus `control_fields`: one request body, one schema component per operation
    (named like `ResetCommand` for the suffix "Command")."""
    camel = "".join(part.title() for part in operation.name.split("_"))
    return type(f"{camel}{suffix}", (operation.params,), {"__module__": module, "__doc__": doc, **control_fields})


def _input_of(operation: Operation) -> type[serializers.Serializer]:
    return operation_body(
        operation,
        suffix="Command",
        doc=f"{operation.label}: its parameters, and whether to wait for the station's answer.",
        module=__name__,
        control_fields={
            "wait": serializers.BooleanField(
                default=True,
                help_text="true: answer with the outcome (200); false: answer at once (202) and poll the command",
            ),
            "timeout_s": serializers.IntegerField(
                min_value=1,
                max_value=MAX_TIMEOUT_S,
                default=DEFAULT_TIMEOUT_S,
                help_text="How long the station has to answer before the command ends as timeout",
            ),
        },
    )


def _send_view(operation: Operation) -> type[CommandSendApi]:
    versions = " and ".join(sorted(operation.protocols))
    input_class = _input_of(operation)

    @extend_schema(
        operation_id=f"station_command_{operation.name}",
        summary=operation.label,
        description=(
            f"Send `{operation.name}` to the station ({versions}). With `wait` (the default) the answer is the "
            "command with its outcome: accepted, rejected, timeout, offline or error. Without, it comes at once "
            "with the command as queued (or offline), and `Location` names the command to poll. A station whose "
            "protocol version lacks the operation is refused with a 400 naming `operation`; nothing is sent."
        ),
        tags=["commands"],
        request=input_class,
        responses={
            200: OpenApiResponse(CommandOutput, "Sent with `wait`: the command with its outcome"),
            202: OpenApiResponse(CommandOutput, "Sent without `wait`: the command, still pending or sent, or offline"),
        },
        parameters=[
            OpenApiParameter(
                "Location", str, OpenApiParameter.HEADER, response=[202], description="The command's URL, to poll"
            )
        ],
    )
    def post(self, request, station_id: int):
        return self.send(request, station_id)

    return type(
        f"{input_class.__name__}Api",
        (CommandSendApi,),
        {"__module__": __name__, "operation": operation, "Input": input_class, "post": post},
    )


class UnknownOperationApi(APIView):
    """A POST to /stations/{id}/commands/<not an operation> (or a group's runs): 404 naming the operations."""

    required_scopes = [Scope.COMMANDS_WRITE]
    schema = None  # not an operation: every real one has its own path

    def post(self, request, operation: str, **ids):
        raise NotFound(f"No operation {operation!r}. Operations: {', '.join(OPERATIONS)}.")


def operation_paths(*, parent: str, kwarg: str, collection: str, view_of, url_name: str) -> list:
    """One path per operation, `<parent>/<int:kwarg>/<collection>/<operation>/`, from `view_of(operation)`,
    answered with and without a trailing slash (the schema shows the slash); any other name there is a 404 naming
    the operations."""
    paths = []
    for name, operation in OPERATIONS.items():
        view = view_of(operation)
        undocumented = type(f"{view.__name__}NoSlash", (view,), {"__module__": view.__module__, "schema": None})
        paths += [
            path(f"{parent}/<int:{kwarg}>/{collection}/{name}/", view.as_view(), name=f"{url_name}-{name}"),
            path(f"{parent}/<int:{kwarg}>/{collection}/{name}", undocumented.as_view()),
        ]
    paths.append(
        re_path(rf"^{parent}/(?P<{kwarg}>[0-9]+)/{collection}/(?P<operation>[^/]+)/?$", UnknownOperationApi.as_view())
    )
    return paths


def command_send_paths() -> list:
    return operation_paths(
        parent="stations", kwarg="station_id", collection="commands", view_of=_send_view, url_name="station-command"
    )


class CommandListApi(APIView):
    required_scopes = [Scope.COMMANDS_READ]

    class FilterInput(serializers.Serializer):
        station = serializers.IntegerField(required=False, min_value=1)
        operation = serializers.ChoiceField(choices=list(OPERATIONS), required=False)
        status = serializers.ChoiceField(choices=Command.Status.choices, required=False)
        source = serializers.ChoiceField(choices=Command.Source.choices, required=False)
        created_after = serializers.DateTimeField(required=False, help_text="Created at or after (ISO 8601)")
        created_before = serializers.DateTimeField(required=False, help_text="Created before (ISO 8601)")

        def validate(self, data):
            after, before = data.get("created_after"), data.get("created_before")
            if after and before and after > before:
                raise serializers.ValidationError({"created_before": ["Must not be before created_after."]})
            return data

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(CommandOutput))
    def get(self, request):
        """Newest first, whoever sent them (the admin, the API, background jobs)."""
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        commands = command_list(
            station_id=data.get("station"),
            operation=data.get("operation"),
            status=data.get("status"),
            source=data.get("source"),
            created_after=data.get("created_after"),
            created_before=data.get("created_before"),
        )
        return paginated(request, self, commands, CommandOutput, ordering="-id")


class CommandDetailApi(APIView):
    required_scopes = [Scope.COMMANDS_READ]

    @extend_schema(responses=CommandOutput)
    def get(self, request, command_id: int):
        return Response(CommandOutput(object_or_404(request, command_list(), pk=command_id)).data)
