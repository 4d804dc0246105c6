"""Writes of a reseller's customer brands: create, suspend, resume, and the hook that makes a new brand's owner.

A customer is an ordinary operator brand whose `reseller` is the reseller: these services check that relation and
the reseller's plan, then call the tenant lifecycle services (apps/whitelabel/services.py), which record the history.
Field problems are django ValidationErrors (forms and the API show them per field); refusals are domain errors.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context

from apps.whitelabel.exceptions import CustomerNotFoundError, NotAResellerError
from apps.whitelabel.models import Branding, Domain, Tenant
from apps.whitelabel.services import platform_subdomain, tenant_create, tenant_resume, tenant_suspend

logger = logging.getLogger(__name__)

# What a customer brand takes from its reseller's branding unless told otherwise: the look and the reseller's
# support desk and legal pages (customers of a white-label reseller are served by the reseller). The logo, favicon
# and display name are the customer's own; the sender address is the reseller's verified one, under the
# customer's name.
INHERITED_BRANDING = (
    "primary_colour",
    "accent_colour",
    "email_sender",
    "support_email",
    "support_phone",
    "terms_url",
    "privacy_url",
)
LIMITS = ("max_stations", "max_users")


def reseller_check(tenant: Tenant) -> None:
    if tenant.kind != Tenant.Kind.RESELLER:
        raise NotAResellerError(f"{tenant.name} is not a reseller: only resellers have customer brands.")


def customer_get(*, reseller: Tenant, customer_id: int) -> Tenant:
    """One of the reseller's customers, or CustomerNotFoundError (another reseller's customer is not found either)."""
    reseller_check(reseller)
    with schema_context(get_public_schema_name()):
        customer = Tenant.objects.filter(reseller=reseller, pk=customer_id).select_related("branding").first()
    if customer is None:
        raise CustomerNotFoundError(f"No customer brand {customer_id} of {reseller.slug}.")
    return customer


def _inherited_branding(reseller: Tenant, name: str) -> dict:
    branding = Branding.objects.filter(tenant=reseller).values(*INHERITED_BRANDING).first() or {}
    return {**{key: value for key, value in branding.items() if value}, "display_name": name, "email_sender_name": name}


def _limits_within_plan(reseller: Tenant, limits: dict[str, int | None]) -> dict[str, int | None]:
    """A customer's limits: the reseller's own where none is given, and never more than the reseller's plan allows
    (a reseller limited to 50 stations cannot sell a brand unlimited stations)."""
    errors = {}
    for field in LIMITS:
        ceiling = getattr(reseller, field)
        if ceiling is None:
            continue
        if limits[field] is None:
            limits[field] = ceiling
        elif limits[field] > ceiling:
            errors[field] = _("Your plan allows at most %(limit)s.") % {"limit": ceiling}
    if errors:
        raise ValidationError(errors)
    return limits


def _reseller_name(reseller: Tenant) -> str:
    return Branding.objects.filter(tenant=reseller).values_list("display_name", flat=True).first() or reseller.name


def customer_owner_invite(*, tenant: Tenant, email: str, reseller: Tenant):
    """Invite the first owner of a new brand: an email in the brand's look with a link to set their password
    (apps.accounts.services.invitation_create). Nobody has an account, nor a password, until they accept."""
    from apps.accounts.roles import Role
    from apps.accounts.services import invitation_create

    return invitation_create(
        tenant=tenant, email=email, role=Role.OWNER, invited_by=None, inviter_name=_reseller_name(reseller)
    )


@transaction.atomic
def customer_create(
    *,
    reseller: Tenant,
    name: str,
    slug: str,
    owner_email: str,
    plan: str = "",
    currency: str | None = None,
    default_locale: str | None = None,
    timezone: str | None = None,
    max_stations: int | None = None,
    max_users: int | None = None,
    branding: dict | None = None,
    actor: str,
):
    """Create an operator brand managed by `reseller`: on the platform subdomain <slug>.<PLATFORM_BASE_DOMAIN>, with
    the reseller's currency, language, time zone and branding where none is given, limits within the reseller's plan,
    and its owner's invitation (`customer_owner_invite`). One transaction: a failure leaves no brand, schema or
    invitation behind.

    Returns the brand and the invitation sent to its owner.
    """
    reseller_check(reseller)
    name, slug, owner_email = name.strip(), slug.strip().lower(), owner_email.strip().lower()
    errors = {}
    if not name:
        errors["name"] = _("Give the brand a name.")
    if not owner_email:
        errors["owner_email"] = _("Give the email address of the brand's owner.")
    with schema_context(get_public_schema_name()):
        if slug and Tenant.objects.filter(slug=slug).exists():
            errors["slug"] = _("Another brand has this slug.")
        elif slug and Domain.objects.filter(domain=platform_subdomain(slug)).exists():
            errors["slug"] = _("The address %(host)s is taken.") % {"host": platform_subdomain(slug)}
        if errors:
            raise ValidationError(errors)
        limits = _limits_within_plan(reseller, {"max_stations": max_stations, "max_users": max_users})
        brand_look = {**_inherited_branding(reseller, name), **(branding or {})}
        # tenant_create leaves the connection in public: the context restores the caller's schema (a request on the
        # reseller's host goes on in the reseller's schema).
        customer = tenant_create(
            slug=slug,
            name=name,
            domains=[platform_subdomain(slug)],
            kind=Tenant.Kind.OPERATOR,
            reseller=reseller,
            default_locale=default_locale or reseller.default_locale,
            currency=currency or reseller.currency,
            timezone=timezone or reseller.timezone,
            branding=brand_look,
            plan=plan,
            actor=actor,
            **limits,
        )
    try:
        invitation = customer_owner_invite(tenant=customer, email=owner_email, reseller=reseller)
    except ValidationError as error:
        # The owner's problems are the form's owner_email field, whatever the user model calls them.
        raise ValidationError({"owner_email": error.messages}) from error
    logger.info("customer created: %s by reseller %s (%s)", customer.slug, reseller.slug, actor)
    return customer, invitation


def customer_suspend(*, reseller: Tenant, customer: Tenant, actor: str, reason: str) -> Tenant:
    """Suspend one of the reseller's customers (tenant_suspend: its hosts answer 503, its stations are refused)."""
    customer = customer_get(reseller=reseller, customer_id=customer.pk)
    return tenant_suspend(tenant=customer, actor=actor, reason=reason)


def customer_resume(*, reseller: Tenant, customer: Tenant, actor: str, reason: str = "") -> Tenant:
    """Lift the suspension of one of the reseller's customers."""
    customer = customer_get(reseller=reseller, customer_id=customer.pk)
    return tenant_resume(tenant=customer, actor=actor, reason=reason)
