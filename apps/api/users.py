"""The brand's users: drivers are created and changed here; staff accounts are only read (the admin manages them)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.accounts.selectors import user_list
from apps.accounts.services import user_create, user_update
from apps.api.models import Scope
from apps.api.pagination import paginated
from apps.api.permissions import ScopesByMethod
from apps.api.schema import CURSOR_PARAMETERS, ErrorBody, page_of
from apps.api.validation import text_filter, written
from apps.sessions.models import IdToken

# A user's tokens are those whose sessions they pay: billing links the user's payment customers to tokens.
ID_TOKENS_PREFETCH = "payment_customers__id_tokens__id_token"
# The only role the API gives; the username is the email (user_create), so a problem with it is the email's.
DRIVER_ONLY = [(Role.DRIVER.value, Role.DRIVER.label)]
RENAME = {"username": "email"}


class UserIdTokenOutput(serializers.ModelSerializer):
    class Meta:
        model = IdToken
        fields = ("id", "uid", "type", "status")


class UserOutput(serializers.ModelSerializer):
    id_tokens = serializers.SerializerMethodField(help_text="The ID tokens whose sessions this user pays")

    class Meta:
        model = User
        fields = (
            "id",
            "email",
            "first_name",
            "last_name",
            "role",
            "is_active",
            "locale",
            "date_joined",
            "last_login",
            "id_tokens",
        )

    @extend_schema_field(UserIdTokenOutput(many=True))
    def get_id_tokens(self, user: User) -> list[dict]:
        tokens = [link.id_token for customer in user.payment_customers.all() for link in customer.id_tokens.all()]
        return UserIdTokenOutput(sorted(tokens, key=lambda token: token.pk), many=True).data


class DriverCreateInput(serializers.Serializer):
    """Creates a driver (no password: they set one through the password reset of the brand's portal)."""

    email = serializers.EmailField(max_length=150, help_text="Unique in the brand; also the login name")
    first_name = serializers.CharField(max_length=150, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, allow_blank=True, default="")
    locale = serializers.CharField(max_length=8, allow_blank=True, default="", help_text="Empty: the brand's default")
    role = serializers.ChoiceField(choices=DRIVER_ONLY, default=Role.DRIVER, help_text="Only drivers are created here")


class UserUpdateInput(serializers.Serializer):
    email = serializers.EmailField(max_length=150)
    first_name = serializers.CharField(max_length=150, allow_blank=True)
    last_name = serializers.CharField(max_length=150, allow_blank=True)
    locale = serializers.CharField(max_length=8, allow_blank=True)
    is_active = serializers.BooleanField(help_text="false: the user can no longer log in")


USER_RULES = "400 naming the email when another user of the brand has it (compared case-insensitively)."


def _users():
    return user_list().prefetch_related(ID_TOKENS_PREFETCH)


class UserCollectionApi(ScopesByMethod, APIView):
    """GET lists the brand's users (staff and drivers); POST creates a driver."""

    scopes_by_method = {"GET": [Scope.USERS_READ], "POST": [Scope.USERS_WRITE]}

    class FilterInput(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.choices, required=False)
        is_active = serializers.BooleanField(required=False)
        email = text_filter(max_length=254, help_text="Case-insensitive")

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(UserOutput))
    def get(self, request):
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        users = user_list(**filters.validated_data).prefetch_related(ID_TOKENS_PREFETCH)
        return paginated(request, self, users, UserOutput)

    @extend_schema(request=DriverCreateInput, responses={201: UserOutput}, description=USER_RULES)
    def post(self, request):
        data = DriverCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = written(lambda: user_create(password=None, **data.validated_data), rename=RENAME)
        return Response(UserOutput(user).data, status=status.HTTP_201_CREATED)


class UserItemApi(ScopesByMethod, APIView):
    """GET reads a user; PATCH changes a driver's name, email, locale or is_active."""

    scopes_by_method = {"GET": [Scope.USERS_READ], "PATCH": [Scope.USERS_WRITE]}

    @extend_schema(responses=UserOutput)
    def get(self, request, user_id: int):
        return Response(UserOutput(get_object_or_404(_users(), pk=user_id)).data)

    @extend_schema(
        request=UserUpdateInput(partial=True),
        description=USER_RULES,
        responses={
            200: UserOutput,
            403: OpenApiResponse(
                ErrorBody, description="`scope_missing`, or `user_read_only`: staff accounts change in the admin"
            ),
        },
    )
    def patch(self, request, user_id: int):
        user = get_object_or_404(_users(), pk=user_id)
        if user.role != Role.DRIVER or user.is_staff or user.is_superuser:
            raise PermissionDenied("Staff accounts are read-only through the API.", code="user_read_only")
        data = UserUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        written(lambda: user_update(user=user, **data.validated_data), rename=RENAME)
        return Response(UserOutput(get_object_or_404(_users(), pk=user_id)).data)
