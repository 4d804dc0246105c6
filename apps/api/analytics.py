"""Usage analytics of the API itself: requests, error rates and latency per partner application, endpoint and day.

Who sees what: an API key is made by the brand's operators in the admin, so it is their tool and sees every client
of the brand; any other credential (a partner's OAuth application) sees only its own client.
"""

from datetime import date, timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.models import ApiKey, ApiUsageDay, Scope
from apps.api.pagination import paginated
from apps.api.schema import CURSOR_PARAMETERS, page_of
from apps.api.selectors import api_usage_client_totals, api_usage_day_list

DEFAULT_DAYS = 30
MAX_DAYS = 366


# Client ids and route patterns are printable ASCII without spaces; saying so in the schema keeps every value it
# allows answerable (PostgreSQL cannot even compare a string holding NUL).
PRINTABLE = r"^[!-~]+$"


def _one_line(value: str) -> None:
    # Python's `$` also matches before a final newline, which the schema's pattern does not allow.
    if "\n" in value:
        raise serializers.ValidationError("Must be printable ASCII without spaces.")


class UsageFilterInput(serializers.Serializer):
    """The period is `days` days from `since`: a start and a length, so that every value the schema allows is a
    period the endpoint answers (a start after an end, or a span over the bound, cannot be asked)."""

    since = serializers.DateField(
        required=False, help_text="First UTC day of the period; default: the period ends today"
    )
    days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_DAYS,
        default=DEFAULT_DAYS,
        help_text=f"Length of the period in days, default {DEFAULT_DAYS}, at most {MAX_DAYS}",
    )
    client_id = serializers.RegexField(
        PRINTABLE,
        required=False,
        max_length=200,
        trim_whitespace=False,
        validators=[_one_line],
        help_text="key:<prefix>, oauth:<id> or anonymous",
    )
    endpoint = serializers.RegexField(
        PRINTABLE,
        required=False,
        max_length=200,
        trim_whitespace=False,
        validators=[_one_line],
        help_text="A route pattern, e.g. /api/v1/stations/{station_id}/",
    )

    def validate(self, attrs):
        days = attrs["days"]
        since = attrs.get("since") or timezone.now().date() - timedelta(days=days - 1)
        try:
            until = since + timedelta(days=days - 1)
        except OverflowError:  # a period running past the year 9999
            until = date.max
        return {**attrs, "since": since, "until": until}


def usage_filters_of(request) -> dict:
    """The validated filters, narrowed to what the caller may see; None for client_id means every client."""
    filters = UsageFilterInput(data=request.query_params.dict())
    filters.is_valid(raise_exception=True)
    values = dict(filters.validated_data)
    client = request.user
    if not isinstance(client.credential, ApiKey):
        values["visible"] = values.get("client_id", client.client_id) == client.client_id
        values["client_id"] = client.client_id
    else:
        values["visible"] = True
    return values


class UsageDayOutput(serializers.ModelSerializer):
    error_rate_4xx = serializers.FloatField(read_only=True, help_text="Share of responses with a 4xx status")
    error_rate_5xx = serializers.FloatField(read_only=True, help_text="Share of responses with a 5xx status")
    latency_mean_ms = serializers.FloatField(read_only=True)
    latency_p50_ms = serializers.FloatField(read_only=True, help_text="Median latency, within 4.5 %")
    latency_p95_ms = serializers.FloatField(read_only=True, help_text="Within 4.5 %")
    latency_p99_ms = serializers.FloatField(read_only=True, help_text="Within 4.5 %")

    class Meta:
        model = ApiUsageDay
        fields = (
            "day",
            "client_id",
            "method",
            "endpoint",
            "requests",
            "responses_4xx",
            "responses_5xx",
            "error_rate_4xx",
            "error_rate_5xx",
            "latency_mean_ms",
            "latency_p50_ms",
            "latency_p95_ms",
            "latency_p99_ms",
        )


class UsageListApi(APIView):
    required_scopes = [Scope.ANALYTICS_READ]

    @extend_schema(
        summary="API usage per client, endpoint and day",
        description=(
            "One row per UTC day, client, method and route pattern, oldest first. An API key sees every client of "
            "the brand; an OAuth application only its own."
        ),
        parameters=[UsageFilterInput, *CURSOR_PARAMETERS],
        responses=page_of(UsageDayOutput),
    )
    def get(self, request):
        filters = usage_filters_of(request)
        rows = api_usage_day_list(
            since=filters["since"],
            until=filters["until"],
            client_id=filters.get("client_id"),
            endpoint=filters.get("endpoint"),
        )
        if not filters["visible"]:
            rows = rows.none()
        return paginated(request, self, rows, UsageDayOutput)


class UsageClientOutput(serializers.Serializer):
    client_id = serializers.CharField()
    requests = serializers.IntegerField()
    responses_4xx = serializers.IntegerField()
    responses_5xx = serializers.IntegerField()
    error_rate_4xx = serializers.FloatField(allow_null=True, help_text="Null without requests")
    error_rate_5xx = serializers.FloatField(allow_null=True)
    latency_mean_ms = serializers.FloatField(allow_null=True)
    latency_p50_ms = serializers.FloatField(allow_null=True, help_text="Within 4.5 %")
    latency_p95_ms = serializers.FloatField(allow_null=True)
    latency_p99_ms = serializers.FloatField(allow_null=True)
    webhooks_succeeded = serializers.IntegerField(help_text="Webhook deliveries to this client that succeeded")
    webhooks_failed = serializers.IntegerField()
    webhook_success_rate = serializers.FloatField(allow_null=True, help_text="Null without deliveries")


UsageClientsOutput = inline_serializer(
    name="UsageClients",
    fields={
        "since": serializers.DateField(),
        "until": serializers.DateField(),
        "clients": UsageClientOutput(many=True),
    },
)


class UsageClientListApi(APIView):
    required_scopes = [Scope.ANALYTICS_READ]

    @extend_schema(
        summary="API usage per client over a period",
        description=(
            "Totals per client from since to until: requests, error rates, latency percentiles over every request "
            "of the period, and webhook delivery success. An API key sees every client of the brand; an OAuth "
            "application only its own."
        ),
        parameters=[UsageFilterInput],
        responses=UsageClientsOutput,
    )
    def get(self, request):
        filters = usage_filters_of(request)
        totals = (
            api_usage_client_totals(
                since=filters["since"],
                until=filters["until"],
                client_id=filters.get("client_id"),
                endpoint=filters.get("endpoint"),
            )
            if filters["visible"]
            else []
        )
        return Response(
            {
                "since": filters["since"],
                "until": filters["until"],
                "clients": UsageClientOutput(totals, many=True).data,
            }
        )
