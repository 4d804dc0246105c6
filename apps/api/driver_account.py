"""The driver app's account endpoints under /api/v1/me/ (issue 9): the signed-in driver, their RFID cards, their
payment methods and their browsers' Web Push subscriptions. Only a token a person authorized may use them
(`me:read`, `me:write`: apps/api/permissions.py); everything is the token's person's own."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.emails import email_language
from apps.api.models import Scope
from apps.api.permissions import ScopesByMethod
from apps.api.schema import ErrorBody
from apps.api.validation import written
from apps.billing.exceptions import PaymentAccountError, ProviderError
from apps.billing.models import StoredPaymentMethod
from apps.billing.services.drivers import (
    driver_payment_method_add,
    driver_payment_method_default_set,
    driver_payment_method_list,
    driver_payment_method_remove,
    driver_payment_setup,
    driver_tokens_link,
)
from apps.pwa.push import push_subscription_delete, push_subscription_save, vapid_public_key
from apps.sessions.models import IdToken
from apps.sessions.selectors import driver_card_list
from apps.sessions.services import driver_card_add, driver_card_remove
from apps.whitelabel.models import Tenant


class PaymentsUnavailable(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This brand takes no payments in its app at the moment."
    default_code = "payments_unavailable"


def _person(request):
    """The driver the token acts for (HasRequiredScopes lets only a person's token use the me: scopes)."""
    return request.user.user


def _list(items, output) -> dict:
    return {"results": output(items, many=True).data}


# The driver


class MeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField(help_text="Their full name; empty when not given")
    language = serializers.CharField(help_text="The language they read: their own choice, else the brand's default")


class MeApi(APIView):
    """The signed-in driver."""

    required_scopes = [Scope.ME_READ]

    @extend_schema(responses=MeOutput)
    def get(self, request):
        user = _person(request)
        tenant = Tenant.objects.filter(schema_name=connection.schema_name).first()
        me = {
            "id": user.pk,
            "email": user.email,
            "name": user.get_full_name(),
            "language": email_language(tenant=tenant, user=user),
        }
        return Response(MeOutput(me).data)


# Cards


class CardOutput(serializers.ModelSerializer):
    class Meta:
        model = IdToken
        fields = ("id", "uid", "label", "status", "created_at")


class CardList(serializers.Serializer):
    results = CardOutput(many=True)


class CardCollectionApi(ScopesByMethod, APIView):
    """GET lists the driver's RFID cards; POST adds one."""

    scopes_by_method = {"GET": [Scope.ME_READ], "POST": [Scope.ME_WRITE]}

    class CardInput(serializers.Serializer):
        uid = serializers.CharField(max_length=40, help_text="As printed on the card: 8, 14 or 20 hex digits")
        label = serializers.CharField(max_length=100, allow_blank=True, default="")

    @extend_schema(responses=CardList)
    def get(self, request):
        return Response(_list(driver_card_list(owner=_person(request)), CardOutput))

    @extend_schema(
        request=CardInput,
        responses={201: CardOutput},
        description="400 on `uid`: not a card's number, a uid the brand knows already (whoever holds it: the answer "
        "does not say), or the most cards an account may have.",
    )
    def post(self, request):
        data = self.CardInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = _person(request)

        def add():
            card = driver_card_add(owner=user, **data.validated_data)
            driver_tokens_link(user)  # a driver with a payment method pays with their new card too
            return card

        return Response(CardOutput(written(add)).data, status=status.HTTP_201_CREATED)


class CardItemApi(APIView):
    required_scopes = [Scope.ME_WRITE]

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Blocked and no longer yours")})
    def delete(self, request, card_id: int):
        """Remove a card: it is blocked at once (a lost card charges no more) and unlinked from the account."""
        user = _person(request)
        card = driver_card_list(owner=user).filter(pk=card_id).first()
        if card is None:
            raise NotFound("No such card of yours.")

        def remove():
            driver_card_remove(owner=user, id_token=card)
            driver_tokens_link(user)

        written(remove)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Payment methods


class PaymentSetupOutput(serializers.Serializer):
    provider = serializers.ChoiceField(choices=["stripe", "adyen"], allow_null=True, help_text="null: no payments")
    publishable_key = serializers.CharField(allow_blank=True, help_text="Stripe's pk_… for Stripe.js; else empty")
    sandbox = serializers.BooleanField(
        help_text="The brand's offline Stripe sandbox (demo/testing): no Stripe.js, any pm_… id is accepted"
    )


class PaymentMethodSetupApi(APIView):
    """What the app needs to tokenise a card in the browser with the brand's payment provider."""

    required_scopes = [Scope.ME_READ]

    @extend_schema(responses=PaymentSetupOutput)
    def get(self, request):
        return Response(PaymentSetupOutput(driver_payment_setup()).data)


class PaymentMethodOutput(serializers.ModelSerializer):
    class Meta:
        model = StoredPaymentMethod
        fields = ("id", "brand", "last4", "expiry_month", "expiry_year", "is_default")


class PaymentMethodList(serializers.Serializer):
    results = PaymentMethodOutput(many=True)


PAYMENTS_UNAVAILABLE = OpenApiResponse(ErrorBody, "`payments_unavailable`: the brand has no active payment account")


class PaymentMethodCollectionApi(ScopesByMethod, APIView):
    """GET lists the driver's stored payment methods (the default first); POST stores one the provider tokenised."""

    scopes_by_method = {"GET": [Scope.ME_READ], "POST": [Scope.ME_WRITE]}

    class PaymentMethodInput(serializers.Serializer):
        provider_reference = serializers.RegexField(
            r"^[A-Za-z0-9_\-]{3,100}$",
            help_text="The provider's id of the method tokenised in the browser: Stripe pm_…, Adyen's stored id",
        )

    @extend_schema(responses=PaymentMethodList)
    def get(self, request):
        return Response(_list(driver_payment_method_list(user=_person(request)), PaymentMethodOutput))

    @extend_schema(
        request=PaymentMethodInput,
        responses={201: PaymentMethodOutput, 409: PAYMENTS_UNAVAILABLE},
        description="The first method becomes the default. 400 on `provider_reference` when the provider refuses it.",
    )
    def post(self, request):
        data = self.PaymentMethodInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            method = driver_payment_method_add(
                user=_person(request), provider_reference=data.validated_data["provider_reference"]
            )
        except PaymentAccountError as error:
            raise PaymentsUnavailable() from error
        except ProviderError as error:
            message = "The payment provider refused this payment method."
            raise ValidationError({"provider_reference": [message]}) from error
        return Response(PaymentMethodOutput(method).data, status=status.HTTP_201_CREATED)


def _method(request, method_id: int) -> StoredPaymentMethod:
    method = driver_payment_method_list(user=_person(request)).filter(pk=method_id).first()
    if method is None:
        raise NotFound("No such payment method of yours.")
    return method


class PaymentMethodItemApi(APIView):
    required_scopes = [Scope.ME_WRITE]

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Removed")})
    def delete(self, request, method_id: int):
        """Remove a stored method; when it was the default, the newest other one becomes the default."""
        method = _method(request, method_id)
        written(lambda: driver_payment_method_remove(user=_person(request), method=method))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PaymentMethodDefaultApi(APIView):
    required_scopes = [Scope.ME_WRITE]

    @extend_schema(request=None, responses=PaymentMethodOutput)
    def post(self, request, method_id: int):
        """Charge with this method from now on."""
        method = _method(request, method_id)
        method = written(lambda: driver_payment_method_default_set(user=_person(request), method=method))
        return Response(PaymentMethodOutput(method).data)


# Web Push


class PushOutput(serializers.Serializer):
    vapid_public_key = serializers.CharField(help_text="`applicationServerKey`: uncompressed P-256 point, base64url")


class PushApi(APIView):
    """What a browser subscribes to the brand's push notifications with."""

    required_scopes = [Scope.ME_READ]

    @extend_schema(responses=PushOutput)
    def get(self, request):
        return Response(PushOutput({"vapid_public_key": vapid_public_key()}).data)


class PushSubscriptionOutput(serializers.Serializer):
    endpoint = serializers.URLField()
    created_at = serializers.DateTimeField()


class PushSubscriptionApi(APIView):
    """POST stores the browser's PushSubscription (its JSON as the browser gives it); DELETE forgets it."""

    required_scopes = [Scope.ME_WRITE]

    class PushSubscriptionInput(serializers.Serializer):
        class Keys(serializers.Serializer):
            p256dh = serializers.CharField(max_length=100)
            auth = serializers.CharField(max_length=50)

        endpoint = serializers.URLField(max_length=1000, help_text="https")
        keys = Keys()
        expirationTime = serializers.IntegerField(required=False, allow_null=True)  # noqa: N815 (the browser's)

    class PushSubscriptionDeleteInput(serializers.Serializer):
        endpoint = serializers.URLField(max_length=1000)

    @extend_schema(request=PushSubscriptionInput, responses={201: PushSubscriptionOutput})
    def post(self, request):
        data = self.PushSubscriptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = data.validated_data
        try:
            saved = push_subscription_save(
                user=_person(request),
                endpoint=subscription["endpoint"],
                p256dh=subscription["keys"]["p256dh"],
                auth=subscription["keys"]["auth"],
            )
        except DjangoValidationError as error:
            problems = error.message_dict
            fields = {"endpoint": problems["endpoint"]} if "endpoint" in problems else {}
            keys = {name: problems[name] for name in ("p256dh", "auth") if name in problems}
            raise ValidationError(fields | ({"keys": keys} if keys else {})) from error
        return Response(PushSubscriptionOutput(saved).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("endpoint", str, required=True, description="The subscription's endpoint")],
        request=None,
        responses={204: OpenApiResponse(description="No more pushes to this browser")},
    )
    def delete(self, request):
        data = self.PushSubscriptionDeleteInput(data=request.query_params.dict())
        data.is_valid(raise_exception=True)
        if not push_subscription_delete(user=_person(request), endpoint=data.validated_data["endpoint"]):
            raise NotFound("No such push subscription of yours.")
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns_part: list = [
    path("me/", MeApi.as_view(), name="me"),
    path("me/cards/", CardCollectionApi.as_view(), name="me-card-collection"),
    path("me/cards/<int:card_id>/", CardItemApi.as_view(), name="me-card-item"),
    path("me/payment-methods/setup/", PaymentMethodSetupApi.as_view(), name="me-payment-method-setup"),
    path("me/payment-methods/", PaymentMethodCollectionApi.as_view(), name="me-payment-method-collection"),
    path("me/payment-methods/<int:method_id>/", PaymentMethodItemApi.as_view(), name="me-payment-method-item"),
    path(
        "me/payment-methods/<int:method_id>/default/",
        PaymentMethodDefaultApi.as_view(),
        name="me-payment-method-default",
    ),
    path("me/push/", PushApi.as_view(), name="me-push"),
    path("me/push-subscriptions/", PushSubscriptionApi.as_view(), name="me-push-subscriptions"),
]
