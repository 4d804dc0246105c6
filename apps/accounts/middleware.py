"""Which language a page speaks when the request does not say: the user's own choice, then the brand's default.

Django's LocaleMiddleware has already picked the language from the language cookie (the switcher's choice) or the
browser's Accept-Language. This middleware runs after authentication and refines that pick:

1. the API under /api/ always speaks English (stable messages for programs; clients rely on error codes);
2. a language cookie stands;
3. a signed-in user's saved language (User.locale) beats the browser's header;
4. a browser's Accept-Language with a language we have stands;
5. otherwise the tenant's default language (Tenant.default_locale), then LANGUAGE_CODE.
"""

from django.conf import settings
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

from apps.accounts.languages import supported_language

API_PREFIX = "/api/"


def _browser_language(request) -> str | None:
    for code, _quality in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code == "*":
            return None
        language = supported_language(code)
        if language:
            return language
    return None


def request_language(request) -> str | None:
    """The language this middleware activates, or None to keep LocaleMiddleware's pick."""
    if request.path_info.startswith(API_PREFIX):
        return settings.LANGUAGE_CODE
    if supported_language(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)):
        return None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        language = supported_language(getattr(user, "locale", ""))
        if language:
            return language
    if _browser_language(request):
        return None
    tenant = getattr(request, "tenant", None)
    return supported_language(getattr(tenant, "default_locale", None)) or settings.LANGUAGE_CODE


class PreferredLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = request_language(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
