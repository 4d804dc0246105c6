"""Tenants and their domains and branding. These rows live in the public schema; each tenant's data lives in its own."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

SLUG_PATTERN = r"^[a-z][a-z0-9-]{1,39}$"
slug_validator = RegexValidator(
    SLUG_PATTERN, _("2 to 40 characters: lowercase letters, digits and hyphens, starting with a letter.")
)
colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour as #rrggbb."))


def schema_name_for_slug(slug: str) -> str:
    """The PostgreSQL schema of a tenant slug; injective because slugs have no underscores."""
    return slug.replace("-", "_")


class Tenant(TenantMixin):
    """An operator or reseller brand. The public schema is a Tenant too (kind PLATFORM), the platform itself."""

    class Kind(models.TextChoices):
        PLATFORM = "platform", _("Platform")
        OPERATOR = "operator", _("Operator")
        RESELLER = "reseller", _("Reseller")

    slug = models.CharField(max_length=40, unique=True, validators=[slug_validator], verbose_name=_("slug"))
    name = models.CharField(max_length=120, verbose_name=_("name"))
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OPERATOR, verbose_name=_("kind"))
    reseller = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
        limit_choices_to={"kind": Kind.RESELLER},
        help_text=_("The reseller that manages this brand, if any."),
        verbose_name=_("reseller"),
    )
    default_locale = models.CharField(
        max_length=8, choices=settings.LANGUAGES, default="en", verbose_name=_("default locale")
    )
    currency = models.CharField(
        max_length=3,
        default="EUR",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("An ISO 4217 code such as EUR."))],
        verbose_name=_("currency"),
    )
    timezone = models.CharField(max_length=64, default="UTC", verbose_name=_("timezone"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    # The commercial plan and what it allows; an empty limit is no limit.
    plan = models.CharField(
        max_length=40,
        blank=True,
        help_text=_("The brand's plan, such as starter or enterprise."),
        verbose_name=_("plan"),
    )
    max_stations = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Stations the brand may have; empty for no limit."),
        verbose_name=_("max stations"),
    )
    max_users = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Users (staff and drivers) the brand may have; empty for no limit."),
        verbose_name=_("max users"),
    )

    # Set by whitelabel.services.tenant_suspend, cleared by tenant_resume: a suspended brand's hosts answer 503
    # and its stations are refused at the handshake; nothing is deleted.
    suspended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("suspended at"))
    suspended_by = models.CharField(max_length=150, blank=True, verbose_name=_("suspended by"))
    suspension_reason = models.TextField(blank=True, verbose_name=_("suspension reason"))

    # Schemas are cloned from the template by whitelabel.services.tenant_create, never migrated one by one.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    def clean(self) -> None:
        if self.reseller_id and self.reseller_id == self.pk:
            raise ValidationError({"reseller": _("A brand cannot be its own reseller.")})
        if self.timezone:
            from zoneinfo import available_timezones

            if self.timezone not in available_timezones():
                raise ValidationError({"timezone": _("Unknown time zone.")})


class Domain(DomainMixin):
    """A host name that serves one tenant: a platform subdomain or a custom domain."""

    # django-tenants' fields, as it defines them, with labels the admin can translate.
    domain = models.CharField(_("domain"), max_length=253, unique=True, db_index=True)
    tenant = models.ForeignKey(
        settings.TENANT_MODEL, db_index=True, related_name="domains", on_delete=models.CASCADE, verbose_name=_("tenant")
    )
    is_primary = models.BooleanField(_("is primary"), default=True, db_index=True)

    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")

    def clean(self) -> None:
        self.domain = self.domain.strip().lower()
        if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", self.domain):
            raise ValidationError({"domain": _("A host name without scheme, port or path, such as ev.example.com.")})

    def __str__(self) -> str:
        return self.domain


class Branding(models.Model):
    """How a tenant looks and speaks to its customers: used by the admin, the portal, the PWA and emails."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="branding", verbose_name=_("tenant"))
    display_name = models.CharField(max_length=120, verbose_name=_("display name"))
    primary_colour = models.CharField(
        max_length=7, default="#0b6e4f", validators=[colour_validator], verbose_name=_("primary colour")
    )
    accent_colour = models.CharField(
        max_length=7, default="#f2a541", validators=[colour_validator], verbose_name=_("accent colour")
    )
    logo = models.ImageField(upload_to="branding/logos/", blank=True, verbose_name=_("logo"))
    favicon = models.ImageField(upload_to="branding/favicons/", blank=True, verbose_name=_("favicon"))
    email_sender_name = models.CharField(
        max_length=120,
        blank=True,
        help_text=_("Sender name of the brand's emails; the display name if empty."),
        verbose_name=_("email sender name"),
    )
    email_sender = models.EmailField(
        blank=True, help_text=_("From address of the brand's emails."), verbose_name=_("email sender")
    )
    support_email = models.EmailField(blank=True, verbose_name=_("support email"))
    support_phone = models.CharField(max_length=32, blank=True, verbose_name=_("support phone"))
    terms_url = models.URLField(blank=True, verbose_name=_("terms url"))
    privacy_url = models.URLField(blank=True, verbose_name=_("privacy url"))

    class Meta:
        verbose_name = _("branding")
        verbose_name_plural = _("brandings")

    def __str__(self) -> str:
        return self.display_name


class TenantEvent(models.Model):
    """Who created, suspended, resumed, exported or deleted a brand, when and why; kept after the brand is deleted."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        SUSPENDED = "suspended", _("Suspended")
        RESUMED = "resumed", _("Resumed")
        EXPORTED = "exported", _("Exported")
        DELETED = "deleted", _("Deleted")

    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="events", verbose_name=_("tenant")
    )
    tenant_slug = models.CharField(max_length=40, db_index=True, verbose_name=_("tenant slug"))
    action = models.CharField(max_length=16, choices=Action.choices, verbose_name=_("action"))
    actor = models.CharField(
        max_length=150, help_text=_("The platform user, or the command and OS user."), verbose_name=_("actor")
    )
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    detail = models.JSONField(default=dict, blank=True, verbose_name=_("detail"))
    at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("at"))

    class Meta:
        ordering = ("-at", "-id")
        verbose_name = _("tenant event")
        verbose_name_plural = _("tenant events")

    def __str__(self) -> str:
        return f"{self.tenant_slug} {self.action} by {self.actor}"
