"""Request counters of the API's rate limits when no Redis is configured (apps.api.throttling)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RateLimitCounter(models.Model):
    """Requests of one API client in one fixed window, in the tenant's schema like its credentials.

    The table is UNLOGGED (migration 0004): counts are worth nothing after a crash, so they skip the WAL.
    """

    pk = models.CompositePrimaryKey("client_id", "window_start")
    client_id = models.CharField(max_length=300, verbose_name=_("client id"))
    window_start = models.BigIntegerField(
        help_text=_("Unix time of the window's first second"), verbose_name=_("window start")
    )
    count = models.PositiveIntegerField(default=0, verbose_name=_("count"))

    class Meta:
        verbose_name = _("rate limit counter")
        verbose_name_plural = _("rate limit counters")
        indexes = [models.Index(fields=["window_start"], name="api_ratelimit_window_idx")]

    def __str__(self) -> str:
        return f"{self.client_id} @ {self.window_start}: {self.count}"
