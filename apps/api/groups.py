"""Read endpoints for station groups: named sets of stations (the stations of some locations, or a list)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.models import Scope
from apps.api.pagination import paginated
from apps.api.schema import CURSOR_PARAMETERS, page_of
from apps.groups.models import StationGroup
from apps.groups.selectors import group_list, group_stations


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
        group = get_object_or_404(group_list().prefetch_related("locations"), pk=group_id)
        group.member_ids = list(group_stations(group).order_by("pk").values_list("pk", flat=True))
        return Response(GroupDetailOutput(group).data)
