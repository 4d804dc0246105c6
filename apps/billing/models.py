"""Payments, in the tenant's schema: the tenant's provider accounts, customers and their stored payment methods,
payments (a pre-authorisation hold, then its capture and refunds) and every event that changed them.

Amounts are integers in the currency's minor unit (apps/billing/money.py). CDRs and invoices live beside these
(below): their amounts are Decimals in major units, as OCPI and a printed invoice state them.
"""

import json
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.billing.exceptions import CdrImmutableError, PrepaidLedgerError


class Provider(models.TextChoices):
    STRIPE = "stripe", _("Stripe")
    ADYEN = "adyen", _("Adyen")


class PaymentAccount(models.Model):
    """The tenant's own account with a payment provider: its credentials and the secret its webhooks are signed with.

    Stripe: either the tenant's own secret key, or a Connect account id (`acct_…`) charged through the platform's key
    (`STRIPE_PLATFORM_SECRET_KEY`). Adyen: an API key, a merchant account and the webhook's HMAC key (hex).
    Secrets are write-only in the admin.
    """

    class Mode(models.TextChoices):
        TEST = "test", _("Test")
        LIVE = "live", _("Live")

    SECRET_FIELDS = ("secret_key", "webhook_secret", "api_key", "hmac_key")

    # One account per provider and tenant (each tenant has its own schema): webhooks name the provider only.
    provider = models.CharField(max_length=10, choices=Provider.choices, unique=True, verbose_name=_("provider"))
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.TEST, verbose_name=_("mode"))
    is_active = models.BooleanField(
        default=True, help_text=_("Inactive: no new payments; webhooks are still applied."), verbose_name=_("is active")
    )

    # Stripe
    secret_key = models.CharField(
        max_length=255, blank=True, help_text=_("Stripe: the tenant's own secret key"), verbose_name=_("secret key")
    )
    connect_account_id = models.CharField(
        _("Connect account id"),
        max_length=64,
        blank=True,
        help_text=_("Stripe: acct_… charged through the platform's key"),
    )
    publishable_key = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("Stripe: for the driver app's card form"),
        verbose_name=_("publishable key"),
    )
    webhook_secret = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("Stripe: the endpoint's whsec_… secret"),
        verbose_name=_("webhook secret"),
    )

    # Adyen
    api_key = models.CharField(
        max_length=512, blank=True, help_text=_("Adyen: the web service user's API key"), verbose_name=_("api key")
    )
    merchant_account = models.CharField(
        max_length=100, blank=True, help_text=_("Adyen: the merchant account code"), verbose_name=_("merchant account")
    )
    hmac_key = models.CharField(
        max_length=128, blank=True, help_text=_("Adyen: the webhook's HMAC key (hex)"), verbose_name=_("hmac key")
    )
    live_endpoint_prefix = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("Adyen, live mode only: the company's live URL prefix"),
        verbose_name=_("live endpoint prefix"),
    )
    offline_sandbox = models.BooleanField(
        _("offline sandbox (demo/testing only)"),
        default=False,
        help_text=_(
            "Stripe, test mode only: requests never leave the process; an in-process transport answers like "
            "Stripe's test mode (make run's demo, no internet). Never for real payments."
        ),
    )

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name_plural = _("payment provider accounts")
        ordering = ["provider"]
        verbose_name = _("payment provider account")
        constraints = [
            models.CheckConstraint(
                condition=~Q(provider="stripe") | Q(secret_key="") | Q(connect_account_id=""),
                name="payment_account_stripe_key_or_connect",
            ),
            models.CheckConstraint(
                condition=Q(offline_sandbox=False) | Q(mode="test", provider="stripe"),
                name="payment_account_sandbox_test_only",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} ({self.get_mode_display()})"


class PaymentCustomer(models.Model):
    """Someone who pays, as the provider knows them: a Stripe customer (`cus_…`), an Adyen shopper reference."""

    account = models.ForeignKey(
        PaymentAccount, on_delete=models.PROTECT, related_name="customers", verbose_name=_("account")
    )
    provider_reference = models.CharField(max_length=100, verbose_name=_("provider reference"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payment_customers",
        verbose_name=_("user"),
    )
    email = models.EmailField(blank=True, verbose_name=_("email"))
    name = models.CharField(max_length=200, blank=True, verbose_name=_("name"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("payment customer")
        verbose_name_plural = _("payment customers")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "provider_reference"], name="payment_customer_unique_reference")
        ]

    def __str__(self) -> str:
        return self.email or self.name or self.provider_reference


class StoredPaymentMethod(models.Model):
    """A card (or other method) stored with the provider for a customer: Stripe `pm_…`, Adyen's storedPaymentMethodId.

    Only what identifies it to a person is kept here (brand, last digits, expiry); the card itself stays with the
    provider.
    """

    customer = models.ForeignKey(
        PaymentCustomer, on_delete=models.CASCADE, related_name="payment_methods", verbose_name=_("customer")
    )
    provider_reference = models.CharField(max_length=100, verbose_name=_("provider reference"))
    kind = models.CharField(max_length=30, default="card", verbose_name=_("kind"))
    brand = models.CharField(max_length=30, blank=True, verbose_name=_("brand"))
    last4 = models.CharField(max_length=4, blank=True, verbose_name=_("last4"))
    expiry_month = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("expiry month"))
    expiry_year = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("expiry year"))
    is_default = models.BooleanField(default=False, verbose_name=_("is default"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("stored payment method")
        verbose_name_plural = _("stored payment methods")
        ordering = ["-is_default", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "provider_reference"], name="stored_payment_method_unique_reference"
            ),
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_default=True), name="stored_payment_method_one_default"
            ),
        ]

    def __str__(self) -> str:
        label = " ".join(part for part in (self.brand, f"•••• {self.last4}" if self.last4 else "") if part)
        return label or self.provider_reference


class Payment(models.Model):
    """One payment: a hold on the customer's method (authorised), then the final amount taken (captured, at most the
    hold), possibly refunded in parts. Amounts in minor units of `currency`; the provider's reference is Stripe's
    PaymentIntent id or Adyen's pspReference of the authorisation.

    What it pays is named by `purpose` and `reference` (e.g. "charging_session" and the session's id): billing sits
    below sessions and invoices in the app layering, so it holds no foreign key to them.
    """

    class Status(models.TextChoices):
        REQUIRES_ACTION = "requires_action", _("Requires action (e.g. 3-D Secure)")
        AUTHORISED = "authorised", _("Authorised (held)")
        CAPTURED = "captured", _("Captured")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")
        CANCELLED = "cancelled", _("Cancelled (hold released)")
        FAILED = "failed", _("Failed")

    CAPTURED_STATES = frozenset({Status.CAPTURED, Status.PARTIALLY_REFUNDED, Status.REFUNDED})
    FINAL_STATES = frozenset({Status.REFUNDED, Status.CANCELLED, Status.FAILED})

    account = models.ForeignKey(
        PaymentAccount, on_delete=models.PROTECT, related_name="payments", verbose_name=_("account")
    )
    provider = models.CharField(max_length=10, choices=Provider.choices, editable=False, verbose_name=_("provider"))
    provider_reference = models.CharField(
        max_length=100, blank=True, help_text=_("PaymentIntent id / pspReference"), verbose_name=_("provider reference")
    )
    customer = models.ForeignKey(
        PaymentCustomer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("customer"),
    )
    payment_method = models.ForeignKey(
        StoredPaymentMethod,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payments",
        verbose_name=_("payment method"),
    )

    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    amount_authorised = models.PositiveBigIntegerField(
        default=0, help_text=_("Minor units held"), verbose_name=_("amount authorised")
    )
    amount_captured = models.PositiveBigIntegerField(
        default=0, help_text=_("Minor units taken"), verbose_name=_("amount captured")
    )
    amount_refunded = models.PositiveBigIntegerField(
        default=0,
        help_text=_("Minor units refunded or being refunded (failed refunds are given back)"),
        verbose_name=_("amount refunded"),
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.REQUIRES_ACTION, db_index=True, verbose_name=_("status")
    )
    failure_code = models.CharField(max_length=100, blank=True, verbose_name=_("failure code"))
    failure_message = models.CharField(max_length=255, blank=True, verbose_name=_("failure message"))
    client_secret = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("Stripe: what the driver app confirms the payment with (3-D Secure)"),
        verbose_name=_("client secret"),
    )

    purpose = models.CharField(
        max_length=40, help_text=_('What it pays, e.g. "charging_session", "invoice"'), verbose_name=_("purpose")
    )
    reference = models.CharField(
        max_length=100, blank=True, help_text=_("The paid object's id within `purpose`"), verbose_name=_("reference")
    )
    description = models.CharField(max_length=255, blank=True, verbose_name=_("description"))

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    authorised_at = models.DateTimeField(null=True, blank=True, verbose_name=_("authorised at"))
    captured_at = models.DateTimeField(null=True, blank=True, verbose_name=_("captured at"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        permissions = [
            ("capture_payment", "Can capture or release a payment's hold"),
            ("refund_payment", "Can refund a payment"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_reference"],
                condition=~Q(provider_reference=""),
                name="payment_unique_provider_reference",
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="payment_currency_iso"),
            models.CheckConstraint(
                condition=Q(amount_captured__lte=F("amount_authorised")), name="payment_captured_within_hold"
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__lte=F("amount_captured")), name="payment_refunded_within_captured"
            ),
        ]
        indexes = [models.Index(fields=["purpose", "reference"])]

    def __str__(self) -> str:
        return f"Payment #{self.pk} ({self.purpose} {self.reference})".replace(" )", ")")

    @property
    def refundable(self) -> int:
        return self.amount_captured - self.amount_refunded


class PaymentRefund(models.Model):
    """One refund of a captured payment. Stripe refunds usually succeed at once; Adyen's are confirmed by webhook."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment"))
    provider_reference = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("Refund id / modification pspReference"),
        verbose_name=_("provider reference"),
    )
    amount = models.PositiveBigIntegerField(
        help_text=_("Minor units of the payment's currency"), verbose_name=_("amount")
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    reason = models.CharField(max_length=255, blank=True, verbose_name=_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payment_refunds",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("payment refund")
        verbose_name_plural = _("payment refunds")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_refund_positive"),
            models.UniqueConstraint(
                fields=["payment", "provider_reference"],
                condition=~Q(provider_reference=""),
                name="payment_refund_unique_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund of {self.amount} {self.payment.currency} ({self.status})"


class PaymentEvent(models.Model):
    """The payment's log: what we asked the provider and what it told us, one row each.

    Webhook events carry the provider's event id (Stripe's `evt_…`; for Adyen eventCode:pspReference:success, which
    is how Adyen's deliveries of one event are recognised); the unique (provider, event_id) makes a redelivered event
    apply once. Events that match no payment are kept too, with `payment` empty.
    """

    class Source(models.TextChoices):
        API = "api", _("Request to the provider")
        WEBHOOK = "webhook", _("Webhook from the provider")

    class Outcome(models.TextChoices):
        APPLIED = "applied", _("Applied")
        IGNORED = "ignored", _("Ignored (nothing to change)")
        REFUSED = "refused", _("Refused")
        UNMATCHED = "unmatched", _("No such payment here")
        FAILED = "failed", _("Provider refused")

    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="events", verbose_name=_("payment")
    )
    provider = models.CharField(max_length=10, choices=Provider.choices, verbose_name=_("provider"))
    source = models.CharField(max_length=10, choices=Source.choices, verbose_name=_("source"))
    event_id = models.CharField(
        max_length=255, blank=True, help_text=_("The provider's event id (webhooks)"), verbose_name=_("event id")
    )
    kind = models.CharField(
        max_length=60, help_text=_("authorise, capture, refund…, or the provider's event type"), verbose_name=_("kind")
    )
    outcome = models.CharField(
        max_length=10, choices=Outcome.choices, default=Outcome.APPLIED, verbose_name=_("outcome")
    )
    amount = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("amount"))
    currency = models.CharField(max_length=3, blank=True, verbose_name=_("currency"))
    status_before = models.CharField(max_length=20, blank=True, verbose_name=_("status before"))
    status_after = models.CharField(max_length=20, blank=True, verbose_name=_("status after"))
    detail = models.CharField(max_length=255, blank=True, verbose_name=_("detail"))
    payload = models.JSONField(
        default=dict, blank=True, help_text=_("What the provider sent or answered"), verbose_name=_("payload")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payment_events",
        verbose_name=_("actor"),
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], condition=~Q(event_id=""), name="payment_event_unique_provider_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.get_outcome_display()})"


# --- CDRs and invoices -------------------------------------------------------------------------------------------


class PaymentCustomerToken(models.Model):
    """An ID token whose sessions a customer pays with their default stored method: a hold is placed when a session
    with the token starts and captured when its invoice is issued (docs/billing.md)."""

    customer = models.ForeignKey(
        PaymentCustomer, on_delete=models.CASCADE, related_name="id_tokens", verbose_name=_("customer")
    )
    id_token = models.OneToOneField(
        "charging.IdToken", on_delete=models.CASCADE, related_name="payment_customer_link", verbose_name=_("id token")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name_plural = _("ID tokens paid by a customer")
        verbose_name = _("ID token paid by a customer")

    def __str__(self) -> str:
        return f"{self.id_token} → {self.customer}"


class Cdr(models.Model):
    """A Charge Detail Record in the shape of OCPI 2.2.1, issued once per session (revision 0) and immutable.

    `ocpi_json` is the CDR's canonical JSON (sorted keys, no whitespace, exact decimals) and `content_hash` its
    SHA-256: what was issued can be proven unchanged. A correction is a credit CDR (`credit`, negative totals,
    `credit_reference` the original), optionally followed by a re-issue with the next revision. The columns beside
    the JSON are copies for queries and the admin.
    """

    session = models.ForeignKey(
        "charging.ChargingSession", on_delete=models.PROTECT, related_name="cdrs", verbose_name=_("session")
    )
    revision = models.PositiveSmallIntegerField(
        default=0, help_text=_("0: first issue; n: the n-th re-issue"), verbose_name=_("revision")
    )
    cdr_id = models.CharField(_("OCPI id"), max_length=39, unique=True)
    credit = models.BooleanField(default=False, verbose_name=_("credit"))
    credit_reference = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credited_by",
        help_text=_("Credits this"),
        verbose_name=_("credit reference"),
    )
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    start_date_time = models.DateTimeField(verbose_name=_("start date time"))
    end_date_time = models.DateTimeField(verbose_name=_("end date time"))
    token_uid = models.CharField(max_length=36, blank=True, verbose_name=_("token uid"))
    token_group_uid = models.CharField(
        max_length=36, blank=True, help_text=_("The token's group, for statements"), verbose_name=_("token group uid")
    )
    total_energy_kwh = models.DecimalField(max_digits=14, decimal_places=4, verbose_name=_("total energy kwh"))
    total_excl_vat = models.DecimalField(max_digits=14, decimal_places=4, verbose_name=_("total excl vat"))
    total_incl_vat = models.DecimalField(max_digits=14, decimal_places=4, verbose_name=_("total incl vat"))
    tariff_code = models.CharField(max_length=36, blank=True, verbose_name=_("tariff code"))
    needs_review = models.BooleanField(default=False, db_index=True, verbose_name=_("needs review"))
    review_reasons = models.JSONField(default=list, blank=True, verbose_name=_("review reasons"))
    reason = models.CharField(
        max_length=255, blank=True, help_text=_("Why a credit or re-issue was made"), verbose_name=_("reason")
    )
    # What the session said when it was rated: a session ended again with other figures is re-issued.
    session_stopped_at = models.DateTimeField(null=True, blank=True, verbose_name=_("session stopped at"))
    session_energy_wh = models.DecimalField(
        max_digits=16, decimal_places=3, null=True, blank=True, verbose_name=_("session energy wh")
    )
    ocpi_json = models.TextField(help_text=_("The OCPI CDR as canonical JSON"), verbose_name=_("ocpi json"))
    content_hash = models.CharField(_("SHA-256 of ocpi_json"), max_length=64)
    issued_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("issued at"))

    class Meta:
        verbose_name_plural = _("CDRs")
        ordering = ["-issued_at", "-id"]
        verbose_name = _("CDR")
        permissions = [("credit_cdr", "Can credit (correct) a CDR")]
        constraints = [
            # One CDR per session and revision: running the pipeline twice (or at once) issues one.
            models.UniqueConstraint(
                fields=["session", "revision"], condition=Q(credit=False), name="cdr_one_per_session_revision"
            ),
            models.CheckConstraint(
                condition=Q(credit=False, credit_reference__isnull=True)
                | Q(credit=True, credit_reference__isnull=False),
                name="cdr_credit_references_original",
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="cdr_currency_iso"),
        ]
        indexes = [
            models.Index(fields=["token_group_uid", "issued_at"]),
            models.Index(fields=["token_uid"]),
            # Statistics, reports and the reseller's figures read CDRs by the period they ended in.
            models.Index(fields=["end_date_time", "id"], name="cdr_end_date_time"),
        ]

    def __str__(self) -> str:
        return f"CDR {self.cdr_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise CdrImmutableError(f"{self} was issued: correct it with a credit CDR, never by editing.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise CdrImmutableError(f"{self} was issued: CDRs are never deleted.")

    @property
    def ocpi(self) -> dict:
        return json.loads(self.ocpi_json, parse_float=Decimal)


class DocumentCounter(models.Model):
    """The last number given in a series (invoices, credit notes, statements) and year. The row is locked by the
    transaction that numbers a document, so numbers are consecutive: no gaps, no duplicates."""

    series = models.CharField(max_length=10, verbose_name=_("series"))
    year = models.PositiveSmallIntegerField(verbose_name=_("year"))
    last_number = models.PositiveIntegerField(default=0, verbose_name=_("last number"))

    class Meta:
        verbose_name = _("document counter")
        verbose_name_plural = _("document counters")
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="document_counter_unique_series_year")]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last_number}"


class Invoice(models.Model):
    """A numbered document to a customer: a session's receipt (from its CDR), a credit note (from a credit CDR) or a
    periodic statement listing a token group's CDRs. Issued documents keep their lines and totals; only the payment
    state moves."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt (one session)")
        CREDIT_NOTE = "credit_note", _("Credit note")
        STATEMENT = "statement", _("Statement (a period)")
        SUBSCRIPTION = "subscription", _("Plan fee")

    class Status(models.TextChoices):
        OPEN = "open", _("Open (unpaid)")
        PAID = "paid", _("Paid")
        PARTIALLY_PAID = "partially_paid", _("Partially paid (the hold was smaller)")
        CREDITED = "credited", _("Credited")
        SETTLED = "settled", _("Settled (nothing to pay)")

    # Plan fees are invoices like receipts: one series, numbers continue across both.
    SERIES = {Kind.RECEIPT: "INV", Kind.CREDIT_NOTE: "CN", Kind.STATEMENT: "STM", Kind.SUBSCRIPTION: "INV"}

    number = models.CharField(max_length=24, unique=True, verbose_name=_("number"))
    kind = models.CharField(max_length=12, choices=Kind.choices, verbose_name=_("kind"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True, verbose_name=_("status")
    )
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    issued_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("issued at"))
    cdr = models.ForeignKey(
        Cdr, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("cdr")
    )
    credited_invoice = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
        verbose_name=_("credited invoice"),
    )
    token_uid = models.CharField(max_length=36, blank=True, verbose_name=_("token uid"))
    token_group_uid = models.CharField(max_length=36, blank=True, verbose_name=_("token group uid"))
    customer = models.ForeignKey(
        PaymentCustomer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invoices",
        verbose_name=_("customer"),
    )
    period_start = models.DateTimeField(null=True, blank=True, verbose_name=_("period start"))
    period_end = models.DateTimeField(null=True, blank=True, verbose_name=_("period end"))
    total_net = models.DecimalField(max_digits=14, decimal_places=3, verbose_name=_("total net"))
    total_vat = models.DecimalField(max_digits=14, decimal_places=3, verbose_name=_("total vat"))
    total_gross = models.DecimalField(max_digits=14, decimal_places=3, verbose_name=_("total gross"))
    amount_paid = models.DecimalField(max_digits=14, decimal_places=3, default=0, verbose_name=_("amount paid"))
    amount_prepaid = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=0,
        help_text=_("Of amount_paid: what the prepaid balance paid"),
        verbose_name=_("amount prepaid"),
    )
    subscription = models.ForeignKey(
        "Subscription",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
        verbose_name=_("subscription"),
    )
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices", verbose_name=_("payment")
    )
    notes = models.CharField(max_length=255, blank=True, verbose_name=_("notes"))

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cdr"], condition=Q(kind__in=["receipt", "credit_note"]), name="invoice_one_per_cdr"
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="invoice_currency_iso"),
            models.CheckConstraint(
                condition=Q(total_gross=F("total_net") + F("total_vat")), name="invoice_gross_is_net_plus_vat"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class InvoiceLine(models.Model):
    """One line: what was charged, its VAT rate, net, VAT and gross (in the invoice's currency)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines", verbose_name=_("invoice"))
    position = models.PositiveSmallIntegerField(verbose_name=_("position"))
    description = models.CharField(max_length=255, verbose_name=_("description"))
    quantity = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True, verbose_name=_("quantity"))
    unit = models.CharField(max_length=10, blank=True, verbose_name=_("unit"))
    cdr = models.ForeignKey(
        Cdr, null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines", verbose_name=_("cdr")
    )
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, help_text=_("Percent"), verbose_name=_("vat rate"))
    net = models.DecimalField(max_digits=14, decimal_places=3, verbose_name=_("net"))
    vat = models.DecimalField(max_digits=14, decimal_places=3, verbose_name=_("vat"))
    gross = models.DecimalField(max_digits=14, decimal_places=3, verbose_name=_("gross"))

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_unique_position"),
            models.CheckConstraint(condition=Q(gross=F("net") + F("vat")), name="invoice_line_gross_is_net_plus_vat"),
        ]

    def __str__(self) -> str:
        return self.description


# --- Plans, subscriptions and prepaid balances (docs/plans.md) ---------------------------------------------------


class Plan(models.Model):
    """A driver plan: a monthly fee (incl. VAT), kWh included per period, and a discounted tariff: tariff assignments
    with customer group "plan" and ref `tariff_group` (the plan's code unless set) apply to its subscribers."""

    code = models.SlugField(
        max_length=64,
        unique=True,
        help_text=_("Also the tariff customer group, unless set below"),
        verbose_name=_("code"),
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    monthly_fee = models.DecimalField(
        max_digits=10, decimal_places=3, help_text=_("Per period, incl. VAT"), verbose_name=_("monthly fee")
    )
    vat_rate = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, help_text=_("Percent, of the fee"), verbose_name=_("vat rate")
    )
    included_kwh = models.DecimalField(
        max_digits=10, decimal_places=3, default=0, help_text=_("Per period"), verbose_name=_("included kwh")
    )
    tariff_group = models.CharField(
        max_length=64,
        blank=True,
        help_text=_('customer_group_ref of the tariff assignments (group type "plan") it unlocks; empty: the code'),
        verbose_name=_("tariff group"),
    )
    is_active = models.BooleanField(
        default=True, help_text=_("Inactive: no new subscriptions; current ones go on."), verbose_name=_("is active")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="plan_currency_iso"),
            models.CheckConstraint(condition=Q(monthly_fee__gte=0), name="plan_fee_not_negative"),
            models.CheckConstraint(condition=Q(included_kwh__gte=0), name="plan_included_kwh_not_negative"),
            models.CheckConstraint(condition=Q(vat_rate__gte=0, vat_rate__lte=100), name="plan_vat_rate_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def customer_group_ref(self) -> str:
        return self.tariff_group or self.code


class Subscription(models.Model):
    """A customer's subscription to a plan, renewed monthly from `anchor_at` (the day it began). `included_kwh` is
    this period's allowance (the plan's, pro-rated after a change), `included_kwh_used` what sessions took of it."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due (the fee is unpaid)")
        CANCELLED = "cancelled", _("Cancelled")

    LIVE_STATES = (Status.ACTIVE, Status.PAST_DUE)

    customer = models.ForeignKey(
        PaymentCustomer, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("customer")
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("plan"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True, verbose_name=_("status")
    )
    anchor_at = models.DateTimeField(help_text=_("Periods are whole months from here"), verbose_name=_("anchor at"))
    current_period_start = models.DateTimeField(verbose_name=_("current period start"))
    current_period_end = models.DateTimeField(db_index=True, verbose_name=_("current period end"))
    included_kwh = models.DecimalField(
        max_digits=10, decimal_places=3, help_text=_("This period's allowance"), verbose_name=_("included kwh")
    )
    included_kwh_used = models.DecimalField(
        max_digits=10, decimal_places=3, default=0, verbose_name=_("included kwh used")
    )
    cancel_at_period_end = models.BooleanField(default=False, verbose_name=_("cancel at period end"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status__in=["active", "past_due"]), name="subscription_one_live"
            ),
            models.CheckConstraint(
                condition=Q(current_period_end__gt=F("current_period_start")), name="subscription_period_order"
            ),
            models.CheckConstraint(
                condition=Q(included_kwh_used__gte=0, included_kwh_used__lte=F("included_kwh")),
                name="subscription_included_kwh_within_allowance",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} on {self.plan.code} ({self.status})"

    @property
    def included_kwh_left(self) -> Decimal:
        return self.included_kwh - self.included_kwh_used


class IncludedEnergyUse(models.Model):
    """The plan's included kWh a CDR took (once per CDR) and what that took off its receipt: a discount line at the
    session's average energy price. Given back (`released_at`) when the CDR is credited in the same period."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="energy_uses", verbose_name=_("subscription")
    )
    cdr = models.OneToOneField(Cdr, on_delete=models.PROTECT, related_name="included_energy_use", verbose_name=_("cdr"))
    plan_code = models.CharField(max_length=64, verbose_name=_("plan code"))
    period_start = models.DateTimeField(verbose_name=_("period start"))
    kwh = models.DecimalField(max_digits=10, decimal_places=3, verbose_name=_("kwh"))
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, verbose_name=_("vat rate"))
    discount_net = models.DecimalField(max_digits=14, decimal_places=3, verbose_name=_("discount net"))
    discount_gross = models.DecimalField(max_digits=14, decimal_places=3, verbose_name=_("discount gross"))
    released_at = models.DateTimeField(null=True, blank=True, verbose_name=_("released at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("included energy use")
        verbose_name_plural = _("included energy uses")
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(kwh__gt=0), name="included_energy_use_positive")]

    def __str__(self) -> str:
        return f"{self.kwh} kWh of {self.plan_code} for {self.cdr}"


class PrepaidAccount(models.Model):
    """A customer's prepaid balance in one currency (minor units). Its row is locked by every entry, so the balance
    and each entry's `balance_after` follow one order; it never goes below `-overdraft_limit` (0 by default)."""

    customer = models.ForeignKey(
        PaymentCustomer, on_delete=models.PROTECT, related_name="prepaid_accounts", verbose_name=_("customer")
    )
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    balance = models.BigIntegerField(default=0, help_text=_("Minor units"), verbose_name=_("balance"))
    overdraft_limit = models.PositiveBigIntegerField(
        default=0,
        help_text=_("Minor units the balance may go below zero (0: never negative)"),
        verbose_name=_("overdraft limit"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("prepaid account")
        verbose_name_plural = _("prepaid accounts")
        ordering = ["customer", "currency"]
        permissions = [("top_up_prepaidaccount", "Can top up a prepaid balance")]
        constraints = [
            models.UniqueConstraint(fields=["customer", "currency"], name="prepaid_account_one_per_currency"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="prepaid_account_currency_iso"),
            models.CheckConstraint(
                condition=Q(balance__gte=-F("overdraft_limit")), name="prepaid_account_within_overdraft"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} ({self.currency})"


class PrepaidEntry(models.Model):
    """One movement of a prepaid balance, append-only (a database trigger refuses UPDATE and DELETE): a top-up, a
    debit paying an invoice, a refund or correction. `reference` makes each movement happen once per account."""

    class Kind(models.TextChoices):
        TOP_UP = "top_up", _("Top-up")
        SESSION_DEBIT = "session_debit", _("Session (receipt) paid")
        FEE_DEBIT = "fee_debit", _("Plan fee paid")
        REFUND = "refund", _("Refund / credit")
        CORRECTION = "correction", _("Correction")

    account = models.ForeignKey(
        PrepaidAccount, on_delete=models.PROTECT, related_name="entries", verbose_name=_("account")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    amount = models.BigIntegerField(
        help_text=_("Minor units: positive adds to the balance, negative takes from it"), verbose_name=_("amount")
    )
    balance_after = models.BigIntegerField(verbose_name=_("balance after"))
    reference = models.CharField(
        max_length=100, help_text=_('What it is for, once: "invoice:INV-…", "payment:12"…'), verbose_name=_("reference")
    )
    description = models.CharField(max_length=255, blank=True, verbose_name=_("description"))
    invoice = models.ForeignKey(
        Invoice,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="prepaid_entries",
        verbose_name=_("invoice"),
    )
    payment = models.ForeignKey(
        Payment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="prepaid_entries",
        verbose_name=_("payment"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="prepaid_entries",
        verbose_name=_("actor"),
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("prepaid entry")
        ordering = ["created_at", "id"]
        verbose_name_plural = _("prepaid entries")
        constraints = [
            models.UniqueConstraint(fields=["account", "reference"], name="prepaid_entry_once_per_reference"),
            models.CheckConstraint(condition=~Q(amount=0), name="prepaid_entry_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.reference})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PrepaidLedgerError(f"{self} was booked: correct it with a new entry.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PrepaidLedgerError(f"{self} was booked: entries are never deleted.")
