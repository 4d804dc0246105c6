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


class PartnerObject(models.Model):
    """An OCPI object a partner owns and sent us (pushed or pulled), kept as they sent it, per partner. The columns
    beside `data` are copies for look-ups, lists and the admin."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+", verbose_name=_("partner"))
    country_code = models.CharField(max_length=2, verbose_name=_("country code"))
    party_id = models.CharField(max_length=3, verbose_name=_("party id"))
    object_id = models.CharField(max_length=36, verbose_name=_("id"))
    data = models.JSONField(verbose_name=_("data"))
    last_updated = models.DateTimeField(db_index=True, verbose_name=_("last updated"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id} {self.object_id}"


class PartnerLocation(PartnerObject):
    """A CPO partner's Location with its EVSEs and connectors (we are the eMSP)."""

    class Meta:
        verbose_name = _("partner location")
        verbose_name_plural = _("partner locations")
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "country_code", "party_id", "object_id"], name="partner_location_unique"
            )
        ]


class PartnerTariff(PartnerObject):
    """A partner's Tariff (CPO tariffs we receive as eMSP)."""

    class Meta:
        verbose_name = _("partner tariff")
        verbose_name_plural = _("partner tariffs")
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "country_code", "party_id", "object_id"], name="partner_tariff_unique"
            )
        ]


class PartnerSession(PartnerObject):
    """A CPO partner's Session of one of our drivers (we are the eMSP)."""

    status = models.CharField(max_length=20, blank=True, verbose_name=_("status"))
    kwh = models.DecimalField(max_digits=14, decimal_places=4, default=0, verbose_name=_("kWh"))
    currency = models.CharField(max_length=3, blank=True, verbose_name=_("currency"))
    total_cost_excl_vat = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, verbose_name=_("total cost excl. VAT")
    )
    token_uid = models.CharField(max_length=36, blank=True, db_index=True, verbose_name=_("token uid"))
    start_date_time = models.DateTimeField(null=True, blank=True, verbose_name=_("start date time"))
    end_date_time = models.DateTimeField(null=True, blank=True, verbose_name=_("end date time"))

    class Meta:
        verbose_name = _("partner session")
        verbose_name_plural = _("partner sessions")
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "country_code", "party_id", "object_id"], name="partner_session_unique"
            )
        ]


class PartnerCdr(PartnerObject):
    """A CPO partner's CDR of one of our drivers' sessions (we are the eMSP). Never changed once stored: a
    correction comes as a credit CDR with its own id."""

    object_id = models.CharField(max_length=39, verbose_name=_("id"))  # a CDR id may be 39 characters (OCPI)
    session_id = models.CharField(max_length=36, blank=True, db_index=True, verbose_name=_("session id"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    total_cost_excl_vat = models.DecimalField(max_digits=14, decimal_places=4, verbose_name=_("total cost excl. VAT"))
    total_cost_incl_vat = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, verbose_name=_("total cost incl. VAT")
    )
    total_energy = models.DecimalField(max_digits=14, decimal_places=4, verbose_name=_("total energy (kWh)"))
    start_date_time = models.DateTimeField(verbose_name=_("start date time"))
    end_date_time = models.DateTimeField(db_index=True, verbose_name=_("end date time"))
    credit = models.BooleanField(default=False, verbose_name=_("credit"))
    credit_reference_id = models.CharField(max_length=39, blank=True, verbose_name=_("credit reference id"))
    token_uid = models.CharField(max_length=36, blank=True, db_index=True, verbose_name=_("token uid"))
    expected_total_excl_vat = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("Our own rating of the session with the partner's tariff; empty when we could not rate it"),
        verbose_name=_("our rating excl. VAT"),
    )
    disputed = models.BooleanField(
        default=False,
        db_index=True,
        help_text=_("The partner's total differs from our rating of the same session"),
        verbose_name=_("disputed"),
    )
    invoice = models.ForeignKey(
        "billing.Invoice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Our driver's receipt (or credit note) of this CDR"),
        verbose_name=_("invoice"),
    )

    class Meta:
        verbose_name = _("partner CDR")
        verbose_name_plural = _("partner CDRs")
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "country_code", "party_id", "object_id"], name="partner_cdr_unique"
            )
        ]


class PartnerToken(PartnerObject):
    """An eMSP partner's Token (we are the CPO): pushed or pulled for offline whitelists, or learnt from a real-time
    authorization. `object_id` is the token's uid."""

    type = models.CharField(max_length=20, verbose_name=_("type"))
    contract_id = models.CharField(max_length=36, blank=True, verbose_name=_("contract id"))
    valid = models.BooleanField(default=True, verbose_name=_("valid"))
    whitelist = models.CharField(max_length=20, blank=True, verbose_name=_("whitelist"))
    group_id = models.CharField(max_length=36, blank=True, verbose_name=_("group id"))
    authorization_reference = models.CharField(
        max_length=36,
        blank=True,
        help_text=_("The latest reference the eMSP gave for this token (real-time authorization or START_SESSION)"),
        verbose_name=_("authorization reference"),
    )
    authorized_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the eMSP last answered a real-time authorization"),
        verbose_name=_("authorized at"),
    )

    class Meta:
        verbose_name = _("partner token")
        verbose_name_plural = _("partner tokens")
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "country_code", "party_id", "object_id", "type"], name="partner_token_unique"
            )
        ]
        indexes = [models.Index(models.functions.Upper("object_id"), name="partner_token_uid_upper")]


class RoamingSession(models.Model):
    """One of our sessions (we are the CPO) charged with a partner's token: whom it is reported and billed to."""

    session = models.OneToOneField(
        "charging.ChargingSession", on_delete=models.PROTECT, related_name="roaming", verbose_name=_("session")
    )
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("partner"))
    cdr_token = models.JSONField(help_text=_("The OCPI CdrToken of the driver"), verbose_name=_("CDR token"))
    authorization_reference = models.CharField(max_length=36, blank=True, verbose_name=_("authorization reference"))
    charging_preferences = models.JSONField(null=True, blank=True, verbose_name=_("charging preferences"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("roaming session")
        verbose_name_plural = _("roaming sessions")

    def __str__(self) -> str:
        return f"{self.session_id} → {self.partner}"

    @property
    def emsp_party(self) -> tuple[str, str] | None:
        """The driver's eMSP (the CdrToken's party): whom the session and its CDR are for, through a hub too."""
        token = self.cdr_token if isinstance(self.cdr_token, dict) else {}
        if token.get("country_code") and token.get("party_id"):
            return str(token["country_code"]).upper(), str(token["party_id"]).upper()
        return None


class ReceivedCommand(models.Model):
    """A command or charging-profile request a partner sent us (we are the CPO), answered at its `response_url` with
    the station's real answer once it comes."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+", verbose_name=_("partner"))
    module = models.CharField(max_length=20, help_text=_("commands or chargingprofiles"), verbose_name=_("module"))
    type = models.CharField(
        max_length=30, help_text=_("START_SESSION, …; SET, GET or CLEAR for profiles"), verbose_name=_("type")
    )
    request = models.JSONField(verbose_name=_("request"))
    response_url = models.URLField(max_length=500, verbose_name=_("response URL"))
    from_party = models.CharField(
        max_length=7,
        blank=True,
        help_text=_("The party that sent it (CC*PID), which its result goes back to"),
        verbose_name=_("from party"),
    )
    command = models.ForeignKey(
        "commands.Command",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("What was sent to the station"),
        verbose_name=_("command"),
    )
    result = models.JSONField(
        null=True, blank=True, help_text=_("What we sent to the response URL"), verbose_name=_("result")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    answered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("answered at"))

    class Meta:
        verbose_name = _("received command")
        verbose_name_plural = _("received commands")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.module} {self.type} from {self.partner}"


class SentCommand(models.Model):
    """A command or charging-profile request we sent a CPO partner (we are the eMSP): its immediate answer, and the
    result it posts later to our response URL (`/ocpi/2.2.1/emsp/<module>/<uid>`)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+", verbose_name=_("partner"))
    uid = models.UUIDField(unique=True, verbose_name=_("uid"))
    module = models.CharField(max_length=20, verbose_name=_("module"))
    type = models.CharField(max_length=30, verbose_name=_("type"))
    request = models.JSONField(verbose_name=_("request"))
    response = models.JSONField(
        null=True, blank=True, help_text=_("Their immediate answer"), verbose_name=_("response")
    )
    result = models.JSONField(
        null=True, blank=True, help_text=_("What they posted to our response URL"), verbose_name=_("result")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    result_at = models.DateTimeField(null=True, blank=True, verbose_name=_("result at"))

    class Meta:
        verbose_name = _("sent command")
        verbose_name_plural = _("sent commands")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.module} {self.type} to {self.partner}"


class OutboxMessage(models.Model):
    """A push to a partner, delivered in order per partner (one that fails holds back the later ones, so a PATCH
    never overtakes its PUT) and retried until it goes out. `url` is absolute (a response URL) or empty: then the
    partner's `module` RECEIVER endpoint, as registered at delivery time, plus `path`."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Gave up")

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="outbox", verbose_name=_("partner"))
    module = models.CharField(max_length=20, verbose_name=_("module"))
    method = models.CharField(max_length=6, verbose_name=_("method"))
    path = models.CharField(max_length=300, blank=True, verbose_name=_("path"))
    url = models.URLField(max_length=500, blank=True, verbose_name=_("URL"))
    to_party = models.CharField(
        max_length=7,
        blank=True,
        help_text=_("The party it is for (CC*PID) when that is not the partner itself: one behind its hub"),
        verbose_name=_("to party"),
    )
    body = models.JSONField(null=True, blank=True, verbose_name=_("body"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True, verbose_name=_("status")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    response_headers = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("e.g. the Location of a CDR they stored"),
        verbose_name=_("response headers"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering = ["id"]
        indexes = [models.Index(fields=["partner", "status", "id"], name="outbox_partner_status")]

    def __str__(self) -> str:
        return f"{self.method} {self.module}{self.path} → {self.partner}"
