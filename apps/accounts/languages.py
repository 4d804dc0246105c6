"""The languages the platform speaks (settings.LANGUAGES) and how a requested language maps onto them."""

from django.utils import translation


def supported_language(code: str | None) -> str | None:
    """The language of LANGUAGES that serves `code` ("de-AT" → "de"), or None for an unknown or empty code."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None
