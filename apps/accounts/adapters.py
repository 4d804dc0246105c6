"""allauth's hooks: sign-up makes drivers, emails speak in the brand's look, TOTP shows the brand's name."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.mfa.adapter import DefaultMFAAdapter
from django.db import connection
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name

from apps.accounts.emails import brand_branding, branded_email_render, email_language
from apps.accounts.roles import STAFF_ROLES, Role
from apps.whitelabel.exceptions import TenantLimitReachedError
from apps.whitelabel.services import user_limit_check

# Where a driver lands after signing in without a `next`: their brand's driver app (apps/pwa).
DRIVER_APP_HOME = "/app/"


def _request_tenant():
    request = allauth_context.request
    return getattr(request, "tenant", None) if request is not None else None


class BrandAccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # The wording Django's admin login used, so that operators recognise it.
        "email_password_mismatch": _("Please enter the correct email address and password."),
    }

    def is_open_for_signup(self, request) -> bool:
        """Drivers sign themselves up on their brand's hosts; platform staff never do, and a brand at its plan's user
        limit takes no more."""
        if connection.schema_name == get_public_schema_name():
            return False
        try:
            user_limit_check()
        except TenantLimitReachedError:
            return False
        return True

    def populate_username(self, request, user) -> None:
        # As accounts.services.user_create: the username is the email, so both log-in paths find the user.
        user.email = (user.email or "").strip().lower()
        user.username = user.email

    def save_user(self, request, user, form, commit=True):
        # Self sign-up is for drivers only: staff come from invitations or from operators (docs/authentication.md).
        user.role = Role.DRIVER
        user.is_staff = False
        user.is_superuser = False
        user.locale = getattr(request, "LANGUAGE_CODE", "") or ""
        return super().save_user(request, user, form, commit=commit)

    def get_login_redirect_url(self, request) -> str:
        if connection.schema_name == get_public_schema_name():
            return reverse("admin:index")
        if request.user.is_staff and request.user.role in STAFF_ROLES:
            return reverse("portal:overview")
        if request.user.role == Role.DRIVER:
            return DRIVER_APP_HOME
        return reverse("account_home")

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        request = allauth_context.request
        tenant = _request_tenant()
        message = branded_email_render(
            tenant=tenant,
            template_prefix=template_prefix,
            to=[email],
            context={"request": request, "email": email, "current_site": _CurrentSite(request), **context},
            language=email_language(tenant=tenant, user=context.get("user")),
            site_url=request.build_absolute_uri("/") if request is not None else "",
            request=request,
        )
        message.send()


class _CurrentSite:
    """What allauth's templates read as `current_site`: the brand's name and the host the request came to."""

    def __init__(self, request):
        branding = brand_branding(getattr(request, "tenant", None))
        self.domain = request.get_host() if request is not None else ""
        self.name = branding.display_name if branding else self.domain


class BrandMFAAdapter(DefaultMFAAdapter):
    def get_totp_issuer(self) -> str:
        """The name the authenticator app lists the account under: the brand's, not a host name."""
        branding = brand_branding(_request_tenant())
        return branding.display_name if branding else super().get_totp_issuer()
