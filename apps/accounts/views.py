"""Account pages: the one sign-in every login goes through, the account home, staff invitations, the language
switcher's endpoint."""

from allauth.account.adapter import get_adapter
from allauth.account.views import LoginView
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language
from django_tenants.utils import get_public_schema_name

from apps.accounts import services
from apps.accounts.adapters import DRIVER_APP_HOME
from apps.accounts.exceptions import InvitationUnusableError
from apps.accounts.forms import InvitationAcceptForm
from apps.accounts.languages import supported_language
from apps.accounts.roles import Role
from apps.accounts.services import invitation_for_token, user_locale_set


class BrandLoginView(LoginView):
    """allauth's login (email verification and the second factor apply), also taking the `username` field of
    Django's login forms so that scripts and bookmarks of the admin's login keep working."""

    def get_form_kwargs(self) -> dict:
        kwargs = super().get_form_kwargs()
        data = kwargs.get("data")
        if data is not None and "login" not in data and "username" in data:
            data = data.copy()
            data["login"] = data["username"]
            kwargs["data"] = data
        return kwargs

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context["signup_open"] = get_adapter(self.request).is_open_for_signup(self.request)
        return context


class AdminLoginView(BrandLoginView):
    """The admin's login (brand and platform admin): the brand's sign-in page. A signed-in user without admin access
    (a driver) sees a notice instead of being sent back and forth between the admin and this page."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_staff:
            return render(request, "accounts/no_admin_access.html", {"title": _("No access")}, status=403)
        return super().dispatch(request, *args, **kwargs)


@login_required
def account_home(request):
    """The account's settings of a signed-in user who is no staff. A driver who opens it is sent to the brand's
    driver app, their home (its account page links to the password, email and two-factor pages here)."""
    if request.user.role == Role.DRIVER and connection.schema_name != get_public_schema_name():
        return redirect(DRIVER_APP_HOME)
    return render(request, "accounts/home.html", {"title": _("Your account")})


@require_POST
def language_set(request):
    """Sets the language cookie and redirects back (to `next`); a signed-in user keeps the choice on other devices."""
    response = set_language(request)
    language = supported_language(request.POST.get("language"))
    if language and request.user.is_authenticated:
        user_locale_set(user=request.user, locale=language)
    return response


def invitation_accept(request, token: str):
    """The emailed link: choose a password, become staff with the invited role, and land signed in on the portal.
    A link that is unknown, expired, revoked or already used gets a page that says which (410 Gone)."""
    try:
        invitation = invitation_for_token(token)
    except InvitationUnusableError as error:
        return _invitation_unusable(request, error.reason)
    form = InvitationAcceptForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                password=form.cleaned_data["password1"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
            )
        except InvitationUnusableError as error:
            return _invitation_unusable(request, error.reason)
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            if request.user.is_authenticated:
                logout(request)
            login(request, user, backend="apps.accounts.backends.RoleBackend")
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("portal:overview")
    return render(
        request,
        "accounts/invitation_accept.html",
        {"title": _("Join the team"), "invitation": invitation, "form": form},
    )


def _invitation_unusable(request, reason: str):
    return render(
        request, "accounts/invitation_unusable.html", {"title": _("Invitation unusable"), "reason": reason}, status=410
    )
