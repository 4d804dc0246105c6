"""Template filters of the portal: personal data masked unless the viewer may see it, readable figures."""

from decimal import Decimal

from django import template
from django.utils import timezone

from apps.accounts.personal_data import mask_name, mask_token

register = template.Library()


@register.filter
def personal(value, allowed: bool):
    """A driver's token uid as is for viewers with the personal-data permission, otherwise masked
    (apps/accounts/personal_data.py: its last four characters, what a driver reads on their card)."""
    if allowed or not value:
        return value
    return mask_token(str(value))


@register.filter
def personal_name(value, allowed: bool):
    """A name (a card's label, a driver's name) as is, or masked to its initials without the permission."""
    if allowed or not value:
        return value
    return mask_name(str(value))


@register.filter
def kwh(wh) -> str:
    """Watt-hours as kWh with three decimals."""
    if wh is None or wh == "":
        return "–"
    return f"{Decimal(wh) / 1000:.3f}"


@register.filter
def kw(watts) -> str:
    if watts is None or watts == "":
        return "–"
    return f"{Decimal(watts) / 1000:.2f}"


@register.filter
def duration(session) -> str:
    """How long a session ran (or has run so far), as h:mm:ss."""
    if session.started_at is None:
        return "–"
    end = session.stopped_at or timezone.now()
    seconds = max(int((end - session.started_at).total_seconds()), 0)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@register.filter
def status_class(status) -> str:
    """The CSS class of a status badge (the badge always shows the status as text too)."""
    return str(status or "unknown").lower().replace(" ", "-")
