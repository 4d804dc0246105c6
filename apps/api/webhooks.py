"""Webhook endpoints (scope webhooks:manage): subscriptions, their secret, deliveries with attempts, replay and ping.

Subscriptions belong to the brand: any credential of the brand with webhooks:manage manages all of them (the
creating client is recorded as `client_id`). The signing secret is in the answer to a create and to a rotation
only. docs/webhooks.md says what a receiver gets and how to verify it.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.exceptions import WebhookInvalidError
from apps.api.models import EventKind, Scope, WebhookAttempt, WebhookDelivery, WebhookSubscription
from apps.api.models.webhooks import ALL_KINDS, KIND_CHOICES
from apps.api.pagination import paginated
from apps.api.schema import CURSOR_PARAMETERS, page_of
from apps.api.selectors import webhook_delivery_list, webhook_subscription_list
from apps.api.services.webhooks import (
    webhook_delivery_replay,
    webhook_kinds_problem,
    webhook_ping,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_secret_rotate,
    webhook_subscription_update,
    webhook_url_problem,
)


def _invalid(error: WebhookInvalidError) -> ValidationError:
    return ValidationError({error.field: [error.message]})


class WebhookSubscriptionOutput(serializers.ModelSerializer):
    event_kinds = serializers.ListField(child=serializers.ChoiceField(choices=KIND_CHOICES))

    class Meta:
        model = WebhookSubscription
        fields = (
            "id",
            "url",
            "event_kinds",
            "description",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "client_id",
            "created_at",
            "updated_at",
        )


class WebhookSubscriptionWithSecretOutput(WebhookSubscriptionOutput):
    secret = serializers.CharField(help_text="Signs every delivery: keep it, it is not shown again")

    class Meta(WebhookSubscriptionOutput.Meta):
        fields = (*WebhookSubscriptionOutput.Meta.fields, "secret")


class WebhookSubscriptionInput(serializers.Serializer):
    url = serializers.URLField(max_length=500, help_text="http(s) URL that receives POSTs")
    event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=KIND_CHOICES),
        allow_empty=False,
        max_length=len(KIND_CHOICES),
        help_text=f'Event kinds (GET /api/v1/webhooks/event-kinds/), or ["{ALL_KINDS}"] for all',
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate_url(self, url: str) -> str:
        problem = webhook_url_problem(url)
        if problem:
            raise serializers.ValidationError(problem)
        return url

    def validate_event_kinds(self, kinds: list[str]) -> list[str]:
        problem = webhook_kinds_problem(kinds)
        if problem:
            raise serializers.ValidationError(problem)
        return kinds


class WebhookSubscriptionUpdateInput(WebhookSubscriptionInput):
    is_active = serializers.BooleanField(required=False, help_text="true re-enables a disabled subscription")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class WebhookAttemptOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ("at", "status_code", "error", "duration_ms", "response_excerpt", "manual")


class WebhookDeliveryOutput(serializers.ModelSerializer):
    event_id = serializers.UUIDField(source="event.id", help_text="The Webhook-Id header: the same on every attempt")
    event_type = serializers.CharField(source="event.kind")
    event_created_at = serializers.DateTimeField(source="event.created_at")
    data = serializers.JSONField(source="event.data", help_text="The event's `data`, as sent")
    attempts = WebhookAttemptOutput(many=True)

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event_id",
            "event_type",
            "event_created_at",
            "data",
            "status",
            "attempt_count",
            "next_attempt_at",
            "last_attempt_at",
            "created_at",
            "attempts",
        )


def _subscription(subscription_id: int) -> WebhookSubscription:
    return get_object_or_404(webhook_subscription_list(), pk=subscription_id)


def _delivery(delivery_id: int) -> WebhookDelivery:
    """A delivery as the API shows it (re-read, with its event and attempts)."""
    return WebhookDelivery.objects.select_related("event").prefetch_related("attempts").get(pk=delivery_id)


class WebhookEventKindOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EventKind.choices)
    description = serializers.CharField()


class EventKindListApi(APIView):
    required_scopes = [Scope.WEBHOOKS_MANAGE]

    @extend_schema(responses=WebhookEventKindOutput(many=True))
    def get(self, request):
        kinds = [{"kind": kind.value, "description": kind.label} for kind in EventKind]
        return Response(WebhookEventKindOutput(kinds, many=True).data)


class SubscriptionListApi(APIView):
    required_scopes = [Scope.WEBHOOKS_MANAGE]

    @extend_schema(parameters=CURSOR_PARAMETERS, responses=page_of(WebhookSubscriptionOutput))
    def get(self, request):
        return paginated(request, self, webhook_subscription_list(), WebhookSubscriptionOutput)

    @extend_schema(
        request=WebhookSubscriptionInput,
        responses={201: WebhookSubscriptionWithSecretOutput},
    )
    def post(self, request):
        data = WebhookSubscriptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            subscription, _ = webhook_subscription_create(**data.validated_data, client_id=request.user.client_id)
        except WebhookInvalidError as error:
            raise _invalid(error) from error
        return Response(WebhookSubscriptionWithSecretOutput(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailApi(APIView):
    required_scopes = [Scope.WEBHOOKS_MANAGE]

    @extend_schema(responses=WebhookSubscriptionOutput)
    def get(self, request, subscription_id: int):
        return Response(WebhookSubscriptionOutput(_subscription(subscription_id)).data)

    @extend_schema(request=WebhookSubscriptionUpdateInput, responses=WebhookSubscriptionOutput)
    def patch(self, request, subscription_id: int):
        subscription = _subscription(subscription_id)
        data = WebhookSubscriptionUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            subscription = webhook_subscription_update(subscription=subscription, **data.validated_data)
        except WebhookInvalidError as error:
            raise _invalid(error) from error
        return Response(WebhookSubscriptionOutput(subscription).data)

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Deleted, with its deliveries")})
    def delete(self, request, subscription_id: int):
        webhook_subscription_delete(subscription=_subscription(subscription_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionSecretRotateApi(APIView):
    required_scopes = [Scope.WEBHOOKS_MANAGE]

    @extend_schema(
        request=None,
        responses=WebhookSubscriptionWithSecretOutput,
        description=(
            "A new signing secret, signing every attempt from now on; for 24 hours (WEBHOOK_SECRET_OVERLAP_HOURS) "
            "deliveries carry a second signature made with the previous secret."
        ),
    )
    def post(self, request, subscription_id: int):
        subscription, _ = webhook_subscription_secret_rotate(subscription=_subscription(subscription_id))
        return Response(WebhookSubscriptionWithSecretOutput(subscription).data)


class SubscriptionPingApi(APIView):
    required_scopes = [Scope.WEBHOOKS_MANAGE]

    @extend_schema(
        request=None,
        responses={202: WebhookDeliveryOutput},
        description="Send a `webhook.ping` event to this subscription once (no retries), active or not.",
    )
    def post(self, request, subscription_id: int):
        delivery = webhook_ping(subscription=_subscription(subscription_id))
        return Response(WebhookDeliveryOutput(_delivery(delivery.pk)).data, status=status.HTTP_202_ACCEPTED)


class DeliveryListApi(APIView):
    required_scopes = [Scope.WEBHOOKS_MANAGE]

    class FilterInput(serializers.Serializer):
        status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices, required=False)

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(WebhookDeliveryOutput))
    def get(self, request, subscription_id: int):
        subscription = _subscription(subscription_id)
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        deliveries = webhook_delivery_list(subscription=subscription, status=filters.validated_data.get("status"))
        return paginated(request, self, deliveries, WebhookDeliveryOutput, ordering="-id")


class DeliveryReplayApi(APIView):
    required_scopes = [Scope.WEBHOOKS_MANAGE]

    @extend_schema(
        request=None,
        responses={202: WebhookDeliveryOutput},
        description="Send the delivery's event again: one more attempt, the same event id and body.",
    )
    def post(self, request, subscription_id: int, delivery_id: int):
        subscription = _subscription(subscription_id)
        delivery = get_object_or_404(webhook_delivery_list(subscription=subscription), pk=delivery_id)
        webhook_delivery_replay(delivery=delivery)
        return Response(WebhookDeliveryOutput(_delivery(delivery.pk)).data, status=status.HTTP_202_ACCEPTED)
