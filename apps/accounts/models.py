"""The user of one schema: platform staff in the public schema, a brand's staff and drivers in the brand's."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
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
