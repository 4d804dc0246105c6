"""The language switcher's endpoint: Django's set_language, which also saves a signed-in user's choice."""

from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from apps.accounts.languages import supported_language
from apps.accounts.services import user_locale_set


@require_POST
def language_set(request):
    """Sets the language cookie and redirects back (to `next`); a signed-in user keeps the choice on other devices."""
    response = set_language(request)
    language = supported_language(request.POST.get("language"))
    if language and request.user.is_authenticated:
        user_locale_set(user=request.user, locale=language)
    return response
