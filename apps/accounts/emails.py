"""Emails in the brand's look: from the brand's sender, in the reader's language, as text and branded HTML.

allauth's emails (apps/accounts/adapters.py) and staff invitations (apps/accounts/services.py) are rendered here, so
every message a brand sends looks the same. A template set is `<prefix>_subject.txt` and `<prefix>_message.txt`,
optionally `<prefix>_message.html`; without the HTML one, the text is set into the brand's HTML layout
(templates/accounts/email/layout.html).
"""

from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation

from apps.accounts.languages import supported_language
from apps.whitelabel.models import Branding, Tenant

HTML_LAYOUT = "accounts/email/layout.html"


def brand_branding(tenant: Tenant | None) -> Branding | None:
    if tenant is None:
        return None
    return Branding.objects.filter(tenant_id=tenant.pk).first()


def brand_sender(tenant: Tenant | None) -> str:
    """`"Name" <address>`: the brand's sender, else its display name with the platform's address."""
    branding = brand_branding(tenant)
    if branding is None:
        return settings.DEFAULT_FROM_EMAIL
    address = branding.email_sender or settings.DEFAULT_FROM_EMAIL
    name = branding.email_sender_name or branding.display_name
    return formataddr((name, address))


def email_language(*, tenant: Tenant | None, user=None) -> str:
    """The reader's saved language, else the brand's default, else the platform's."""
    return (
        supported_language(getattr(user, "locale", ""))
        or supported_language(getattr(tenant, "default_locale", None))
        or settings.LANGUAGE_CODE
    )


def branded_email_render(
    *,
    tenant: Tenant | None,
    template_prefix: str,
    to: list[str],
    context: dict,
    language: str,
    site_url: str = "",
    request=None,
) -> EmailMultiAlternatives:
    """`site_url` ("http://host:port"): where the brand's logo is fetched from, as mail clients need absolute URLs."""
    branding = brand_branding(tenant)
    logo_url = ""
    if branding is not None and branding.logo:
        logo_url = branding.logo.url if "://" in branding.logo.url else site_url.rstrip("/") + branding.logo.url
    context = {"branding": branding, "tenant": tenant, "logo_url": logo_url, **context}
    with translation.override(language):
        subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context, request).splitlines()).strip()
        text = render_to_string(f"{template_prefix}_message.txt", context, request).strip()
        try:
            html = render_to_string(f"{template_prefix}_message.html", context, request)
        except TemplateDoesNotExist:
            html = render_to_string(HTML_LAYOUT, {**context, "subject": subject, "text": text}, request)
    message = EmailMultiAlternatives(subject, text, brand_sender(tenant), to)
    message.attach_alternative(html, "text/html")
    return message
