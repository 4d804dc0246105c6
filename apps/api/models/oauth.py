"""What an OAuth 2.0 application of a tenant may do: the scopes an operator allowed it, and its rate limit."""

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings

from apps.api.models.keys import Scope


class OAuthApplicationScopes(models.Model):
    """One row per django-oauth-toolkit application (kept beside it rather than swapping the application model,
    so the toolkit's own migrations stay untouched). An application without a row may get no scope at all."""

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="api_scopes",
        verbose_name=_("application"),
    )
    scopes = ArrayField(
        models.CharField(max_length=32, choices=Scope.choices),
        default=list,
        blank=True,
        help_text="The scopes this application may ask for; a token request for any other is refused.",
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Requests a minute; empty: the platform's default (API_RATE_LIMIT_PER_MINUTE)."),
        verbose_name=_("rate limit per minute"),
    )

    class Meta:
        verbose_name = _("allowed scopes")
        verbose_name_plural = _("allowed scopes")

    def __str__(self) -> str:
        return ", ".join(self.scopes) or "no scopes"
