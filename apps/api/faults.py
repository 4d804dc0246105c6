"""Read endpoints for faults: problems stations reported, open until the station (or an operator) clears them."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.models import Scope
from apps.api.pagination import paginated
from apps.api.permissions import object_or_404
from apps.api.schema import CURSOR_PARAMETERS, page_of
from apps.stations.models import Fault
from apps.stations.selectors import fault_list


class FaultOutput(serializers.ModelSerializer):
    station = serializers.IntegerField(source="station_id", read_only=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Fault
        fields = (
            "id",
            "station",
            "evse_id",
            "connector_id",
            "fault_class",
            "severity",
            "code",
            "description",
            "opened_at",
            "closed_at",
            "closed_by",
            "is_open",
        )
        read_only_fields = fields
        extra_kwargs = {
            "evse_id": {"help_text": "0: the station as a whole"},
            "connector_id": {"help_text": "0: the whole EVSE or station"},
            "closed_by": {"help_text": "station or operator; empty while open"},
        }


class FaultListApi(APIView):
    required_scopes = [Scope.FAULTS_READ]

    class FilterInput(serializers.Serializer):
        open = serializers.BooleanField(required=False, help_text="true: open faults only; false: closed ones only")
        station = serializers.IntegerField(required=False, min_value=1)
        severity = serializers.ChoiceField(choices=Fault.Severity.choices, required=False)
        fault_class = serializers.ChoiceField(choices=Fault.FaultClass.choices, required=False)
        code = serializers.CharField(required=False, max_length=120, help_text="The station's error code, exactly")
        opened_after = serializers.DateTimeField(required=False, help_text="Opened at or after (ISO 8601)")
        opened_before = serializers.DateTimeField(required=False, help_text="Opened before (ISO 8601)")

        def validate(self, data):
            if data.get("opened_after") and data.get("opened_before") and data["opened_after"] > data["opened_before"]:
                raise serializers.ValidationError({"opened_before": ["Must not be before opened_after."]})
            return data

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(FaultOutput))
    def get(self, request):
        """Newest recorded first."""
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        faults = fault_list(
            is_open=data.get("open"),
            station_id=data.get("station"),
            severity=data.get("severity"),
            fault_class=data.get("fault_class"),
            code=data.get("code"),
            opened_after=data.get("opened_after"),
            opened_before=data.get("opened_before"),
        )
        return paginated(request, self, faults, FaultOutput, ordering="-id")


class FaultDetailApi(APIView):
    required_scopes = [Scope.FAULTS_READ]

    @extend_schema(responses=FaultOutput)
    def get(self, request, fault_id: int):
        return Response(FaultOutput(object_or_404(request, fault_list(), pk=fault_id)).data)
