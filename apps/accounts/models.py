"""The user of one schema: platform staff in the public schema, a brand's staff and drivers in the brand's."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.serializers.json import DjangoJSONEncoder
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


# Not "view_auditentry": every role with `*.view_*` would match that; owners and admins read the log.
AUDIT_READ = "accounts.read_audit_log"


class AuditEntry(models.Model):
    """One privileged action: who did what to which object, with the values before and after.

    Exists in every schema (accounts is a shared app): a brand's actions in the brand's schema, the platform's
    (tenant lifecycle) in public. The actor and the target are copied as ids and labels, never foreign keys, so an
    entry outlives what it names and needs no tenant-only table.
    """

    class ActorKind(models.TextChoices):
        USER = "user", _("User")
        API_CLIENT = "api_client", _("API client")
        SYSTEM = "system", _("System")

    at = models.DateTimeField(default=timezone.now, verbose_name=_("when"))
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices, verbose_name=_("actor kind"))
    actor_user_id = models.IntegerField(null=True, blank=True, verbose_name=_("actor user id"))
    actor_client_id = models.CharField(max_length=120, blank=True, verbose_name=_("actor API client"))
    actor_label = models.CharField(max_length=200, blank=True, verbose_name=_("actor"))
    action = models.CharField(max_length=64, verbose_name=_("action"))
    target_type = models.CharField(max_length=64, blank=True, verbose_name=_("target type"))
    target_id = models.CharField(max_length=64, blank=True, verbose_name=_("target id"))
    target_label = models.CharField(max_length=200, blank=True, verbose_name=_("target"))
    # DjangoJSONEncoder: prices are Decimals, times datetimes; stored as text, never rounded through a float.
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder, verbose_name=_("changes"))
    ip_address = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("IP address"))

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ("-id",)
        default_permissions = ()
        permissions = (("read_audit_log", _("Can read the audit log")),)
        indexes = (
            models.Index(fields=("action", "id"), name="audit_action_idx"),
            models.Index(fields=("actor_user_id", "id"), name="audit_actor_user_idx"),
            models.Index(fields=("at",), name="audit_at_idx"),
        )

    def __str__(self) -> str:
        return f"{self.action} {self.target_label or self.target_id}".strip()
