"""The user of one schema: platform staff in the public schema, a brand's staff and drivers in the brand's."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.roles import Role


class User(AbstractUser):
    email = models.EmailField(_("email address"), unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DRIVER, verbose_name=_("role"))
    locale = models.CharField(
        max_length=8, blank=True, help_text=_("Empty: the brand's default language."), verbose_name=_("locale")
    )

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ("username",)

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Invitation(models.Model):
    """An emailed invitation to join the brand's staff with a role. The link's token is stored only as its hash, so a
    copy of the database does not let anyone accept an invitation."""

    email = models.EmailField(_("email address"))
    role = models.CharField(max_length=16, choices=Role.choices, verbose_name=_("role"))
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    # Empty when the platform invited (a reseller's new customer brand's first owner): the inviter is no user here.
    invited_by = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_sent",
        verbose_name=_("invited by"),
    )
    inviter_name = models.CharField(max_length=150, blank=True, verbose_name=_("inviter name"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    accepted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("accepted at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    user = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The account the invitation created."),
        verbose_name=_("user"),
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["email"])]

    def __str__(self) -> str:
        return self.email

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()
