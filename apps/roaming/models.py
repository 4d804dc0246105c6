"""A brand's OCPI identity and the platforms it roams with (OCPI 2.2.1), in the brand's schema."""

import hashlib

from django.db import models
from django.utils.translation import gettext_lazy as _


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RoamingSettings(models.Model):
    """The brand as an OCPI party: one row per brand."""

    class Role(models.TextChoices):
        CPO = "CPO", _("Charge point operator")
        EMSP = "EMSP", _("eMobility service provider")

    country_code = models.CharField(max_length=2, verbose_name=_("country code"))
    party_id = models.CharField(max_length=3, verbose_name=_("party id"))
    roles = models.JSONField(default=list, help_text=_('A list of "CPO" and/or "EMSP"'), verbose_name=_("roles"))
    business_name = models.CharField(max_length=100, verbose_name=_("business name"))
    public_url = models.URLField(
        help_text=_("Where partners reach this brand, e.g. https://alpha.example.com; our versions URL is built on it"),
        verbose_name=_("public URL"),
    )

    class Meta:
        verbose_name = _("roaming settings")
        verbose_name_plural = _("roaming settings")

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id}"

    @property
    def versions_url(self) -> str:
        return self.public_url.rstrip("/") + "/ocpi/versions"


class Partner(models.Model):
    """Another OCPI platform. Tokens are named by direction, whoever registered first:
    `token_b` is the token WE send to THEM (their token A until registration, then the token they gave us);
    `token_c_hash` is the hash of the token THEY send to US after registration; `token_a_hash` the hash of the
    token A we issued so they can register with us (spent once they have)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        REGISTERED = "registered", _("registered")
        UNREGISTERED = "unregistered", _("unregistered")

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    versions_url = models.URLField(blank=True, verbose_name=_("versions URL"))
    version = models.CharField(max_length=10, blank=True, verbose_name=_("version"))
    roles = models.JSONField(default=list, blank=True, verbose_name=_("roles"))
    endpoints = models.JSONField(default=list, blank=True, verbose_name=_("endpoints"))
    token_a_hash = models.CharField(max_length=64, blank=True, db_index=True, verbose_name=_("token A hash"))
    token_b = models.CharField(
        max_length=255, blank=True, help_text=_("The token we send to them"), verbose_name=_("token B")
    )
    token_c_hash = models.CharField(max_length=64, blank=True, db_index=True, verbose_name=_("token C hash"))
    token_c_prefix = models.CharField(max_length=8, blank=True, verbose_name=_("token C prefix"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    tokens_base64 = models.BooleanField(
        default=True,
        help_text=_("Tokens travel base64-encoded (OCPI 2.2.1); off for partners that send them as they are"),
        verbose_name=_("tokens in base64"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("roaming partner")
        verbose_name_plural = _("roaming partners")

    def __str__(self) -> str:
        return self.name

    def endpoint_url(self, identifier: str, role: str) -> str | None:
        for endpoint in self.endpoints:
            if endpoint.get("identifier") == identifier and endpoint.get("role") == role:
                return endpoint.get("url")
        return None
