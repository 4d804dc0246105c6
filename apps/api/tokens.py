"""ID tokens: the RFID cards, eMAIDs and app tokens drivers charge with, written through apps.sessions.services."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.models import Scope
from apps.api.pagination import paginated
from apps.api.permissions import ScopesByMethod
from apps.api.schema import CURSOR_PARAMETERS, page_of
from apps.api.validation import text_filter, written
from apps.sessions.models import IdToken
from apps.sessions.selectors import id_token_list
from apps.sessions.services import id_token_create, id_token_update


class IdTokenOutput(serializers.ModelSerializer):
    group = serializers.IntegerField(source="group_id", allow_null=True, read_only=True, help_text="The group token")
    group_uid = serializers.SerializerMethodField()

    class Meta:
        model = IdToken
        fields = (
            "id",
            "uid",
            "type",
            "status",
            "expires_at",
            "group",
            "group_uid",
            "allow_concurrent",
            "label",
            "created_at",
        )

    def get_group_uid(self, token: IdToken) -> str:
        return token.group.uid if token.group_id else ""


class IdTokenInput(serializers.Serializer):
    """Types only: duplicates and groups are judged by apps.sessions.services."""

    uid = serializers.CharField(max_length=36, help_text="What the station reads; matched case-insensitively")
    type = serializers.ChoiceField(choices=IdToken.Type.choices, default=IdToken.Type.ISO14443)
    status = serializers.ChoiceField(choices=IdToken.Status.choices, default=IdToken.Status.ACCEPTED)
    expires_at = serializers.DateTimeField(allow_null=True, default=None)
    group = serializers.PrimaryKeyRelatedField(
        queryset=IdToken.objects.all(), allow_null=True, default=None, help_text="The id of the group token"
    )
    allow_concurrent = serializers.BooleanField(default=False)
    label = serializers.CharField(max_length=100, allow_blank=True, default="")


# What a schema cannot say, in the operations' descriptions: a schema-valid body may still get a 400 for it.
ID_TOKEN_RULES = (
    "400 naming the field: a uid the brand already has for this type (compared case-insensitively), or a group that "
    "is not one of the brand's tokens, is the token itself, or is itself in a group (authorisation reads one level)."
)


class IdTokenCollectionApi(ScopesByMethod, APIView):
    """GET lists the brand's ID tokens; POST creates one."""

    scopes_by_method = {"GET": [Scope.TOKENS_READ], "POST": [Scope.TOKENS_WRITE]}

    class FilterInput(serializers.Serializer):
        uid = text_filter(max_length=36, help_text="Case-insensitive")
        status = serializers.ChoiceField(choices=IdToken.Status.choices, required=False)
        type = serializers.ChoiceField(choices=IdToken.Type.choices, required=False)
        group = serializers.IntegerField(required=False, min_value=1, help_text="Members of this group token")

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(IdTokenOutput))
    def get(self, request):
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        tokens = id_token_list(
            uid=data.get("uid"), status=data.get("status"), type=data.get("type"), group_id=data.get("group")
        )
        return paginated(request, self, tokens, IdTokenOutput)

    @extend_schema(request=IdTokenInput, responses={201: IdTokenOutput}, description=ID_TOKEN_RULES)
    def post(self, request):
        data = IdTokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        token = written(lambda: id_token_create(**data.validated_data))
        return Response(IdTokenOutput(token).data, status=status.HTTP_201_CREATED)


class IdTokenItemApi(ScopesByMethod, APIView):
    """GET reads a token; PATCH changes it: `{"status": "Blocked"}` blocks it."""

    scopes_by_method = {"GET": [Scope.TOKENS_READ], "PATCH": [Scope.TOKENS_WRITE]}

    @extend_schema(responses=IdTokenOutput)
    def get(self, request, token_id: int):
        return Response(IdTokenOutput(get_object_or_404(id_token_list(), pk=token_id)).data)

    @extend_schema(request=IdTokenInput(partial=True), responses=IdTokenOutput, description=ID_TOKEN_RULES)
    def patch(self, request, token_id: int):
        token = get_object_or_404(id_token_list(), pk=token_id)
        data = IdTokenInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        token = written(lambda: id_token_update(id_token=token, **data.validated_data))
        return Response(IdTokenOutput(token).data)
