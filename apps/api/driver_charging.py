"""The driver app's charging endpoints (issue 9, docs/driver-charging.md): a signed-in driver starts and stops at an
EVSE by its code and reads their own sessions and receipts (`me:read` / `me:write`, a token the driver authorized);
a guest without an account starts with a card and reaches that one session with `Authorization: Guest <secret>`.

Only the driver's own sessions are visible: those of ID tokens they own. Another driver's session is a 404, like
another brand's. The writes are in apps/billing/services/driver_charges.py; this module maps its refusals to answers.
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.http import HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed, NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.authentication import ApiClient
from apps.api.billing import FirstRendererNegotiation
from apps.api.driver_network import evse_or_404
from apps.api.models import Scope
from apps.api.schema import ErrorBody, cursor_parameters, page_of
from apps.api.sessions import SESSION_ORDERINGS, SessionStartPagination
from apps.api.throttling import GuestStartRateThrottle
from apps.billing.exceptions import ChargeRefusedError
from apps.billing.money import from_minor_units, to_minor_units
from apps.billing.pdf import invoice_pdf
from apps.billing.selectors.cdrs import cdr_in_force_list
from apps.billing.selectors.invoices import session_receipt_get
from apps.billing.selectors.plans import session_cost_for_payer
from apps.billing.services.driver_charges import ChargeStart, charge_stop, driver_charge_start, guest_charge_start
from apps.sessions.models import ChargingSession, IdToken
from apps.sessions.selectors import (
    guest_access_get,
    id_token_list_of_owner,
    remote_start_pending,
    session_list_of_id_token,
    session_list_of_owner,
)
from apps.stations.models import Evse
from apps.stations.selectors import evse_code

# A guest's secret reaches their session for this long after the start (the token itself charges for a day).
GUEST_ACCESS_DAYS = 7
# What each refusal is answered with; every other refusal is a 409 (the EVSE's or the session's state).
REFUSAL_STATUSES = {
    "evse_unknown": 404,
    "payment_method_required": 402,
    "payment_declined": 402,
    "station_timeout": 504,
}


class Refused(APIException):
    status_code = status.HTTP_409_CONFLICT

    def __init__(self, refusal: ChargeRefusedError):
        super().__init__(refusal.message, refusal.code)
        self.status_code = REFUSAL_STATUSES.get(refusal.code, status.HTTP_409_CONFLICT)


def _refused(refusal: ChargeRefusedError) -> APIException:
    if refusal.code == "connector_unknown":
        return ValidationError({"connector_id": [refusal.message]})
    return Refused(refusal)


# --- what a session looks like to its driver ------------------------------------------------------------------------


def money_text(amount: Decimal, currency: str) -> str:
    """A decimal string in the currency's minor unit (3.68 for euros), as the receipt states it."""
    return str(from_minor_units(to_minor_units(Decimal(amount), currency), currency))


def session_cost(session: ChargingSession) -> dict | None:
    """What the driver pays: the receipt once issued, else the CDR in force, else the running cost under the
    session's tariff (the same rating the 2.0.1 totalCost uses); None without a tariff."""
    receipt = session_receipt_get(session_id=session.pk)
    if receipt is not None:
        return {"currency": receipt.currency, "amount_incl_vat": money_text(receipt.total_gross, receipt.currency)}
    if session.status != ChargingSession.Status.ACTIVE:
        cdr = cdr_in_force_list().filter(session=session).order_by("-revision").first()
        if cdr is not None:
            return {"currency": cdr.currency, "amount_incl_vat": money_text(cdr.total_incl_vat, cdr.currency)}
    rating = session_cost_for_payer(session)
    if rating is None:
        return None
    return {"currency": rating.currency, "amount_incl_vat": money_text(rating.total_incl_vat.amount, rating.currency)}


class RunningCostOutput(serializers.Serializer):
    currency = serializers.CharField()
    amount_incl_vat = serializers.DecimalField(max_digits=14, decimal_places=3, help_text="In the currency's unit")


class SessionEvseOutput(serializers.Serializer):
    code = serializers.CharField(help_text="The EVSE's code, as on its sticker")
    station = serializers.CharField(help_text="The station's identity")
    location_name = serializers.CharField(allow_null=True)


class DriverSessionOutput(serializers.Serializer):
    """A session as its driver sees it. Needs `receipt_path` in the context: a function of the session giving the
    receipt's path for this caller."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ChargingSession.Status.choices)
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(source="stopped_at", allow_null=True)
    duration_s = serializers.SerializerMethodField()
    energy_kwh = serializers.SerializerMethodField()
    power_kw = serializers.SerializerMethodField(help_text="The latest active power reading, while it charges")
    cost = serializers.SerializerMethodField()
    evse = serializers.SerializerMethodField()
    receipt_url = serializers.SerializerMethodField()
    stoppable = serializers.SerializerMethodField()

    def get_duration_s(self, session: ChargingSession) -> int:
        end = session.stopped_at or timezone.now()
        return max(int((end - session.started_at).total_seconds()), 0)

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=3))
    def get_energy_kwh(self, session: ChargingSession) -> str:
        return f"{session.energy_wh / 1000:.3f}"

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=3, allow_null=True))
    def get_power_kw(self, session: ChargingSession) -> str | None:
        if session.status != ChargingSession.Status.ACTIVE or session.power_w is None:
            return None
        return f"{session.power_w / 1000:.3f}"

    @extend_schema_field(RunningCostOutput(allow_null=True))
    def get_cost(self, session: ChargingSession) -> dict | None:
        return session_cost(session)

    @extend_schema_field(SessionEvseOutput)
    def get_evse(self, session: ChargingSession) -> dict:
        location = session.station.location
        evse = Evse(station=session.station, evse_id=session.evse_id or 0)
        return {
            "code": evse_code(evse),
            "station": session.station.identity,
            "location_name": location.name if location else None,
        }

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_receipt_url(self, session: ChargingSession) -> str | None:
        if session_receipt_get(session_id=session.pk) is None:
            return None
        return self.context["request"].build_absolute_uri(self.context["receipt_path"](session))

    def get_stoppable(self, session: ChargingSession) -> bool:
        return session.status == ChargingSession.Status.ACTIVE and session.station.is_online


def _my_receipt_path(session: ChargingSession) -> str:
    return reverse("api:me-session-receipt", kwargs={"session_id": session.pk})


def _guest_receipt_path(session: ChargingSession) -> str:
    return reverse("api:guest-session-receipt")


def _session_body(request, session: ChargingSession | None, receipt_path=_my_receipt_path) -> dict | None:
    if session is None:
        return None
    return DriverSessionOutput(session, context={"request": request, "receipt_path": receipt_path}).data


def _start_body(request, start: ChargeStart, receipt_path=_my_receipt_path) -> dict:
    return {
        "session": _session_body(request, start.session, receipt_path),
        "command": {"id": start.command.pk, "status": start.command.status},
        "pending_id": start.command.pk,
    }


def _pending_window() -> timedelta:
    return timedelta(minutes=settings.DRIVER_APP_START_HOLD_MINUTES)


def receipt_response(invoice) -> HttpResponse:
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
    return response


def _receipt_or_404(session: ChargingSession):
    receipt = session_receipt_get(session_id=session.pk)
    if receipt is None:
        raise NotFound("The receipt is issued once the session has ended and been billed.", code="receipt_not_ready")
    return receipt


CommandRef = inline_serializer(
    name="DriverCommandRef", fields={"id": serializers.IntegerField(), "status": serializers.CharField()}
)
StartOutput = inline_serializer(
    name="DriverChargeStart",
    fields={
        "session": DriverSessionOutput(allow_null=True),
        "command": CommandRef,
        "pending_id": serializers.IntegerField(help_text="The start's id while the station has not begun"),
    },
)
GuestStartOutput = inline_serializer(
    name="GuestChargeStart",
    fields={
        "guest_token": serializers.CharField(help_text="Shown once: send it as `Authorization: Guest <token>`"),
        "session": DriverSessionOutput(allow_null=True),
        "command": CommandRef,
        "pending_id": serializers.IntegerField(),
    },
)
StopOutput = inline_serializer(
    name="DriverChargeStop", fields={"session": DriverSessionOutput(), "command": CommandRef}
)
PendingOutput = inline_serializer(
    name="DriverStartPending", fields={"pending": serializers.BooleanField(), "pending_id": serializers.IntegerField()}
)
REFUSALS_DOC = {
    402: OpenApiResponse(ErrorBody, "`payment_method_required` or `payment_declined`: nothing started, nothing held"),
    409: OpenApiResponse(
        ErrorBody,
        "`connector_faulted`, `connector_occupied`, `connector_reserved`, `station_offline`, `connector_unavailable`, "
        "`start_pending`, `start_rejected`: nothing held",
    ),
    504: OpenApiResponse(ErrorBody, "`station_timeout`: the station did not answer; nothing held"),
}
PDF = {(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The receipt as a PDF")}


class StartInput(serializers.Serializer):
    evse = serializers.CharField(max_length=100, help_text="The EVSE's code, e.g. DEMO*DEMO-16-01*1")
    connector_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)


# --- a signed-in driver ------------------------------------------------------------------------------------------


class ChargeStartApi(APIView):
    required_scopes = [Scope.ME_WRITE]

    @extend_schema(operation_id="me_charges_create", request=StartInput, responses={202: StartOutput, **REFUSALS_DOC})
    def post(self, request):
        """Start charging at an EVSE with the driver's app token: a hold first when the brand takes payments, then
        the remote start. 202 once the station accepted; the session follows when it begins."""
        body = StartInput(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            evse = evse_or_404(body.validated_data["evse"])
            start = driver_charge_start(
                user=request.user.user,
                evse=evse,
                connector_id=body.validated_data.get("connector_id"),
                client_id=request.user.client_id,
            )
        except ChargeRefusedError as refusal:
            raise _refused(refusal) from refusal
        return Response(_start_body(request, start), status=status.HTTP_202_ACCEPTED)


def _my_session_or_404(request, session_id: int) -> ChargingSession:
    session = session_list_of_owner(user=request.user.user).select_related("station__location")
    session = session.filter(pk=session_id).first()
    if session is None:
        raise NotFound("No such session of yours.")
    return session


class SessionListInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["active", "completed"], required=False)


class MySessionListApi(APIView):
    required_scopes = [Scope.ME_READ]

    @extend_schema(
        operation_id="me_sessions_list",
        parameters=[SessionListInput, *cursor_parameters(SESSION_ORDERINGS, "-started_at: latest first (default)")],
        responses=page_of(DriverSessionOutput),
    )
    def get(self, request):
        """The driver's sessions, latest start first; `status=completed`: every ended one."""
        filters = SessionListInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        sessions = session_list_of_owner(user=request.user.user).select_related("station__location")
        wanted = filters.validated_data.get("status")
        if wanted == "active":
            sessions = sessions.filter(status=ChargingSession.Status.ACTIVE)
        elif wanted == "completed":
            sessions = sessions.exclude(status=ChargingSession.Status.ACTIVE)
        paginator = SessionStartPagination()
        page = paginator.paginate_queryset(sessions, request, view=self)
        context = {"request": request, "receipt_path": _my_receipt_path}
        return paginator.get_paginated_response(DriverSessionOutput(page, many=True, context=context).data)


class MySessionDetailApi(APIView):
    required_scopes = [Scope.ME_READ]

    @extend_schema(operation_id="me_sessions_retrieve", responses=DriverSessionOutput)
    def get(self, request, session_id: int):
        return Response(_session_body(request, _my_session_or_404(request, session_id)))


def _current(request, id_tokens: list[IdToken], sessions, receipt_path) -> Response | None:
    active = sessions.filter(status=ChargingSession.Status.ACTIVE).order_by("-started_at", "-id").first()
    if active is not None:
        return Response(_session_body(request, active, receipt_path))
    pending = remote_start_pending(id_tokens=id_tokens, since=timezone.now() - _pending_window())
    if pending is not None:
        return Response({"pending": True, "pending_id": pending.pk})
    return None


class MySessionCurrentApi(APIView):
    required_scopes = [Scope.ME_READ]

    @extend_schema(
        operation_id="me_sessions_current_retrieve",
        responses={200: OpenApiResponse(DriverSessionOutput, 'The active session, or `{"pending": true}`')},
    )
    def get(self, request):
        """The driver's active session; `{"pending": true, "pending_id"}` while a start awaits the station; 404
        `no_current_session` otherwise."""
        user = request.user.user
        sessions = session_list_of_owner(user=user).select_related("station__location")
        answer = _current(request, list(id_token_list_of_owner(user=user)), sessions, _my_receipt_path)
        if answer is None:
            raise NotFound("You are not charging.", code="no_current_session")
        return answer


class MySessionStopApi(APIView):
    required_scopes = [Scope.ME_WRITE]

    @extend_schema(operation_id="me_sessions_stop_create", request=None, responses={202: StopOutput, **REFUSALS_DOC})
    def post(self, request, session_id: int):
        """Ask the station to stop the session; it is billed once the station reports the stop."""
        session = _my_session_or_404(request, session_id)
        return _stop(request, session, requested_by=request.user.user, receipt_path=_my_receipt_path)


def _stop(request, session: ChargingSession, *, requested_by, receipt_path) -> Response:
    try:
        command = charge_stop(session=session, requested_by=requested_by, client_id=request.user.client_id)
    except ChargeRefusedError as refusal:
        raise _refused(refusal) from refusal
    session.refresh_from_db()
    body = {
        "session": _session_body(request, session, receipt_path),
        "command": {"id": command.pk, "status": command.status},
    }
    return Response(body, status=status.HTTP_202_ACCEPTED)


class MySessionReceiptApi(APIView):
    required_scopes = [Scope.ME_READ]
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(operation_id="me_sessions_receipt_retrieve", responses=PDF)
    def get(self, request, session_id: int):
        """The session's receipt; 404 `receipt_not_ready` until it is issued."""
        return receipt_response(_receipt_or_404(_my_session_or_404(request, session_id)))


# --- a guest -------------------------------------------------------------------------------------------------------


GUEST_SCOPE = "guest"


class GuestAuthentication(BaseAuthentication):
    """`Authorization: Guest <secret>`: the secret a guest got when they started, for their one session."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "guest":
            return None
        access = guest_access_get(secret=secret.strip()) if secret.strip() else None
        if access is None:
            raise AuthenticationFailed("Unknown guest token.", code="guest_token_unknown")
        if access.created_at < timezone.now() - timedelta(days=GUEST_ACCESS_DAYS):
            raise AuthenticationFailed("This guest token has expired.", code="guest_token_expired")
        client = ApiClient(
            client_id=f"guest:{access.id_token.uid}", name="Guest", scopes=[GUEST_SCOPE], credential=access
        )
        return client, access

    def authenticate_header(self, request) -> str:
        return 'Guest realm="api"'


class GuestSchemeExtension(OpenApiAuthenticationExtension):
    target_class = "apps.api.driver_charging.GuestAuthentication"
    name = "Guest"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`Guest <guest_token>`"}


class GuestStartInput(StartInput):
    payment_method = serializers.CharField(max_length=100, help_text="The method the browser tokenised, e.g. pm_…")
    email = serializers.EmailField(required=False, allow_blank=True, help_text="Where the receipt may be sent")


class GuestChargeStartApi(APIView):
    # Open to anyone; a credential that is sent must still be valid (another brand's is a 401, like everywhere).
    permission_classes = [AllowAny]
    throttle_classes = [GuestStartRateThrottle]

    @extend_schema(
        operation_id="guest_charges_create",
        request=GuestStartInput,
        responses={202: GuestStartOutput, **REFUSALS_DOC},
        auth=[],
    )
    def post(self, request):
        """Start charging without an account: the card's hold first (declined: 402, nothing started or held), a
        guest token valid a day, then the remote start. The `guest_token` is shown once."""
        body = GuestStartInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            evse = evse_or_404(data["evse"])
            start, secret = guest_charge_start(
                evse=evse,
                payment_method=data["payment_method"],
                email=data.get("email", ""),
                connector_id=data.get("connector_id"),
            )
        except ChargeRefusedError as refusal:
            raise _refused(refusal) from refusal
        return Response(
            {"guest_token": secret, **_start_body(request, start, _guest_receipt_path)},
            status=status.HTTP_202_ACCEPTED,
        )


class GuestApi(APIView):
    authentication_classes = [GuestAuthentication]
    required_scopes = [GUEST_SCOPE]

    def guest_sessions(self):
        token = self.request.auth.id_token
        return token, session_list_of_id_token(id_token=token).select_related("station__location")

    def latest_or_404(self) -> ChargingSession:
        _token, sessions = self.guest_sessions()
        session = sessions.order_by("-started_at", "-id").first()
        if session is None:
            raise NotFound("Your session has not started.", code="no_current_session")
        return session


class GuestSessionCurrentApi(GuestApi):
    @extend_schema(
        operation_id="guest_sessions_current_retrieve",
        responses={200: OpenApiResponse(DriverSessionOutput, 'The guest\'s session, or `{"pending": true}`')},
    )
    def get(self, request):
        """The guest's session (running or ended); `{"pending": true}` while the start awaits the station."""
        token, sessions = self.guest_sessions()
        answer = _current(request, [token], sessions, _guest_receipt_path)
        if answer is not None:
            return answer
        return Response(_session_body(request, self.latest_or_404(), _guest_receipt_path))


class GuestSessionStopApi(GuestApi):
    @extend_schema(operation_id="guest_sessions_current_stop_create", request=None, responses={202: StopOutput})
    def post(self, request):
        return _stop(request, self.latest_or_404(), requested_by=None, receipt_path=_guest_receipt_path)


class GuestSessionReceiptApi(GuestApi):
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(operation_id="guest_sessions_current_receipt_retrieve", responses=PDF)
    def get(self, request):
        return receipt_response(_receipt_or_404(self.latest_or_404()))


urlpatterns_part: list = [
    path("me/charges/", ChargeStartApi.as_view(), name="me-charge-start"),
    path("me/sessions/", MySessionListApi.as_view(), name="me-session-list"),
    path("me/sessions/current/", MySessionCurrentApi.as_view(), name="me-session-current"),
    path("me/sessions/<int:session_id>/", MySessionDetailApi.as_view(), name="me-session-detail"),
    path("me/sessions/<int:session_id>/stop/", MySessionStopApi.as_view(), name="me-session-stop"),
    path("me/sessions/<int:session_id>/receipt.pdf", MySessionReceiptApi.as_view(), name="me-session-receipt"),
    path("guest/charges/", GuestChargeStartApi.as_view(), name="guest-charge-start"),
    path("guest/sessions/current/", GuestSessionCurrentApi.as_view(), name="guest-session-current"),
    path("guest/sessions/current/stop/", GuestSessionStopApi.as_view(), name="guest-session-stop"),
    path("guest/sessions/current/receipt.pdf", GuestSessionReceiptApi.as_view(), name="guest-session-receipt"),
]
