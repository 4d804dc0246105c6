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

from apps.billing.exceptions import CdrImmutableError, PrepaidLedgerError


class Provider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    ADYEN = "adyen", "Adyen"


class PaymentAccount(models.Model):
    """The tenant's own account with a payment provider: its credentials and the secret its webhooks are signed with.

    Stripe: either the tenant's own secret key, or a Connect account id (`acct_…`) charged through the platform's key
    (`STRIPE_PLATFORM_SECRET_KEY`). Adyen: an API key, a merchant account and the webhook's HMAC key (hex).
    Secrets are write-only in the admin.
    """

    class Mode(models.TextChoices):
        TEST = "test", "Test"
        LIVE = "live", "Live"

    SECRET_FIELDS = ("secret_key", "webhook_secret", "api_key", "hmac_key")

    # One account per provider and tenant (each tenant has its own schema): webhooks name the provider only.
    provider = models.CharField(max_length=10, choices=Provider.choices, unique=True)
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.TEST)
    is_active = models.BooleanField(default=True, help_text="Inactive: no new payments; webhooks are still applied.")

    # Stripe
    secret_key = models.CharField(max_length=255, blank=True, help_text="Stripe: the tenant's own secret key")
    connect_account_id = models.CharField(
        "Connect account id", max_length=64, blank=True, help_text="Stripe: acct_… charged through the platform's key"
    )
    publishable_key = models.CharField(max_length=255, blank=True, help_text="Stripe: for the driver app's card form")
    webhook_secret = models.CharField(max_length=255, blank=True, help_text="Stripe: the endpoint's whsec_… secret")

    # Adyen
    api_key = models.CharField(max_length=512, blank=True, help_text="Adyen: the web service user's API key")
    merchant_account = models.CharField(max_length=100, blank=True, help_text="Adyen: the merchant account code")
    hmac_key = models.CharField(max_length=128, blank=True, help_text="Adyen: the webhook's HMAC key (hex)")
    live_endpoint_prefix = models.CharField(
        max_length=100, blank=True, help_text="Adyen, live mode only: the company's live URL prefix"
    )
    offline_sandbox = models.BooleanField(
        "offline sandbox (demo/testing only)",
        default=False,
        help_text="Stripe, test mode only: requests never leave the process; an in-process transport answers like "
        "Stripe's test mode (make run's demo, no internet). Never for real payments.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider"]
        verbose_name = "payment provider account"
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

    account = models.ForeignKey(PaymentAccount, on_delete=models.PROTECT, related_name="customers")
    provider_reference = models.CharField(max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="payment_customers"
    )
    email = models.EmailField(blank=True)
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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

    customer = models.ForeignKey(PaymentCustomer, on_delete=models.CASCADE, related_name="payment_methods")
    provider_reference = models.CharField(max_length=100)
    kind = models.CharField(max_length=30, default="card")
    brand = models.CharField(max_length=30, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    expiry_month = models.PositiveSmallIntegerField(null=True, blank=True)
    expiry_year = models.PositiveSmallIntegerField(null=True, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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
        REQUIRES_ACTION = "requires_action", "Requires action (e.g. 3-D Secure)"
        AUTHORISED = "authorised", "Authorised (held)"
        CAPTURED = "captured", "Captured"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"
        CANCELLED = "cancelled", "Cancelled (hold released)"
        FAILED = "failed", "Failed"

    CAPTURED_STATES = frozenset({Status.CAPTURED, Status.PARTIALLY_REFUNDED, Status.REFUNDED})
    FINAL_STATES = frozenset({Status.REFUNDED, Status.CANCELLED, Status.FAILED})

    account = models.ForeignKey(PaymentAccount, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=10, choices=Provider.choices, editable=False)
    provider_reference = models.CharField(max_length=100, blank=True, help_text="PaymentIntent id / pspReference")
    customer = models.ForeignKey(
        PaymentCustomer, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    payment_method = models.ForeignKey(
        StoredPaymentMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )

    currency = models.CharField(max_length=3)
    amount_authorised = models.PositiveBigIntegerField(default=0, help_text="Minor units held")
    amount_captured = models.PositiveBigIntegerField(default=0, help_text="Minor units taken")
    amount_refunded = models.PositiveBigIntegerField(
        default=0, help_text="Minor units refunded or being refunded (failed refunds are given back)"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUIRES_ACTION, db_index=True)
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    client_secret = models.CharField(
        max_length=255, blank=True, help_text="Stripe: what the driver app confirms the payment with (3-D Secure)"
    )

    purpose = models.CharField(max_length=40, help_text='What it pays, e.g. "charging_session", "invoice"')
    reference = models.CharField(max_length=100, blank=True, help_text="The paid object's id within `purpose`")
    description = models.CharField(max_length=255, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    authorised_at = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    provider_reference = models.CharField(max_length=100, blank=True, help_text="Refund id / modification pspReference")
    amount = models.PositiveBigIntegerField(help_text="Minor units of the payment's currency")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="payment_refunds"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
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
        API = "api", "Request to the provider"
        WEBHOOK = "webhook", "Webhook from the provider"

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Ignored (nothing to change)"
        REFUSED = "refused", "Refused"
        UNMATCHED = "unmatched", "No such payment here"
        FAILED = "failed", "Provider refused"

    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    event_id = models.CharField(max_length=255, blank=True, help_text="The provider's event id (webhooks)")
    kind = models.CharField(max_length=60, help_text="authorise, capture, refund…, or the provider's event type")
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.APPLIED)
    amount = models.PositiveBigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    status_before = models.CharField(max_length=20, blank=True)
    status_after = models.CharField(max_length=20, blank=True)
    detail = models.CharField(max_length=255, blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="What the provider sent or answered")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="payment_events"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
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

    customer = models.ForeignKey(PaymentCustomer, on_delete=models.CASCADE, related_name="id_tokens")
    id_token = models.OneToOneField("charging.IdToken", on_delete=models.CASCADE, related_name="payment_customer_link")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "ID token paid by a customer"

    def __str__(self) -> str:
        return f"{self.id_token} → {self.customer}"


class Cdr(models.Model):
    """A Charge Detail Record in the shape of OCPI 2.2.1, issued once per session (revision 0) and immutable.

    `ocpi_json` is the CDR's canonical JSON (sorted keys, no whitespace, exact decimals) and `content_hash` its
    SHA-256: what was issued can be proven unchanged. A correction is a credit CDR (`credit`, negative totals,
    `credit_reference` the original), optionally followed by a re-issue with the next revision. The columns beside
    the JSON are copies for queries and the admin.
    """

    session = models.ForeignKey("charging.ChargingSession", on_delete=models.PROTECT, related_name="cdrs")
    revision = models.PositiveSmallIntegerField(default=0, help_text="0: first issue; n: the n-th re-issue")
    cdr_id = models.CharField("OCPI id", max_length=39, unique=True)
    credit = models.BooleanField(default=False)
    credit_reference = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credited_by", help_text="Credits this"
    )
    currency = models.CharField(max_length=3)
    start_date_time = models.DateTimeField()
    end_date_time = models.DateTimeField()
    token_uid = models.CharField(max_length=36, blank=True)
    token_group_uid = models.CharField(max_length=36, blank=True, help_text="The token's group, for statements")
    total_energy_kwh = models.DecimalField(max_digits=14, decimal_places=4)
    total_excl_vat = models.DecimalField(max_digits=14, decimal_places=4)
    total_incl_vat = models.DecimalField(max_digits=14, decimal_places=4)
    tariff_code = models.CharField(max_length=36, blank=True)
    needs_review = models.BooleanField(default=False, db_index=True)
    review_reasons = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=255, blank=True, help_text="Why a credit or re-issue was made")
    # What the session said when it was rated: a session ended again with other figures is re-issued.
    session_stopped_at = models.DateTimeField(null=True, blank=True)
    session_energy_wh = models.DecimalField(max_digits=16, decimal_places=3, null=True, blank=True)
    ocpi_json = models.TextField(help_text="The OCPI CDR as canonical JSON")
    content_hash = models.CharField("SHA-256 of ocpi_json", max_length=64)
    issued_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = "CDR"
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
        indexes = [models.Index(fields=["token_group_uid", "issued_at"]), models.Index(fields=["token_uid"])]

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

    series = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="document_counter_unique_series_year")]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last_number}"


class Invoice(models.Model):
    """A numbered document to a customer: a session's receipt (from its CDR), a credit note (from a credit CDR) or a
    periodic statement listing a token group's CDRs. Issued documents keep their lines and totals; only the payment
    state moves."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt (one session)"
        CREDIT_NOTE = "credit_note", "Credit note"
        STATEMENT = "statement", "Statement (a period)"
        SUBSCRIPTION = "subscription", "Plan fee"

    class Status(models.TextChoices):
        OPEN = "open", "Open (unpaid)"
        PAID = "paid", "Paid"
        PARTIALLY_PAID = "partially_paid", "Partially paid (the hold was smaller)"
        CREDITED = "credited", "Credited"
        SETTLED = "settled", "Settled (nothing to pay)"

    # Plan fees are invoices like receipts: one series, numbers continue across both.
    SERIES = {Kind.RECEIPT: "INV", Kind.CREDIT_NOTE: "CN", Kind.STATEMENT: "STM", Kind.SUBSCRIPTION: "INV"}

    number = models.CharField(max_length=24, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    currency = models.CharField(max_length=3)
    issued_at = models.DateTimeField(default=timezone.now, db_index=True)
    cdr = models.ForeignKey(Cdr, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices")
    credited_invoice = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    token_uid = models.CharField(max_length=36, blank=True)
    token_group_uid = models.CharField(max_length=36, blank=True)
    customer = models.ForeignKey(
        PaymentCustomer, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    total_net = models.DecimalField(max_digits=14, decimal_places=3)
    total_vat = models.DecimalField(max_digits=14, decimal_places=3)
    total_gross = models.DecimalField(max_digits=14, decimal_places=3)
    amount_paid = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    amount_prepaid = models.DecimalField(
        max_digits=14, decimal_places=3, default=0, help_text="Of amount_paid: what the prepaid balance paid"
    )
    subscription = models.ForeignKey(
        "Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices")
    notes = models.CharField(max_length=255, blank=True)

    class Meta:
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

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=255)
    quantity = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    unit = models.CharField(max_length=10, blank=True)
    cdr = models.ForeignKey(Cdr, null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines")
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="Percent")
    net = models.DecimalField(max_digits=14, decimal_places=3)
    vat = models.DecimalField(max_digits=14, decimal_places=3)
    gross = models.DecimalField(max_digits=14, decimal_places=3)

    class Meta:
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

    code = models.SlugField(max_length=64, unique=True, help_text="Also the tariff customer group, unless set below")
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)
    monthly_fee = models.DecimalField(max_digits=10, decimal_places=3, help_text="Per period, incl. VAT")
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, default=0, help_text="Percent, of the fee")
    included_kwh = models.DecimalField(max_digits=10, decimal_places=3, default=0, help_text="Per period")
    tariff_group = models.CharField(
        max_length=64,
        blank=True,
        help_text='customer_group_ref of the tariff assignments (group type "plan") it unlocks; empty: the code',
    )
    is_active = models.BooleanField(default=True, help_text="Inactive: no new subscriptions; current ones go on.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due (the fee is unpaid)"
        CANCELLED = "cancelled", "Cancelled"

    LIVE_STATES = (Status.ACTIVE, Status.PAST_DUE)

    customer = models.ForeignKey(PaymentCustomer, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    anchor_at = models.DateTimeField(help_text="Periods are whole months from here")
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField(db_index=True)
    included_kwh = models.DecimalField(max_digits=10, decimal_places=3, help_text="This period's allowance")
    included_kwh_used = models.DecimalField(max_digits=10, decimal_places=3, default=0)
    cancel_at_period_end = models.BooleanField(default=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
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

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="energy_uses")
    cdr = models.OneToOneField(Cdr, on_delete=models.PROTECT, related_name="included_energy_use")
    plan_code = models.CharField(max_length=64)
    period_start = models.DateTimeField()
    kwh = models.DecimalField(max_digits=10, decimal_places=3)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    discount_net = models.DecimalField(max_digits=14, decimal_places=3)
    discount_gross = models.DecimalField(max_digits=14, decimal_places=3)
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(kwh__gt=0), name="included_energy_use_positive")]

    def __str__(self) -> str:
        return f"{self.kwh} kWh of {self.plan_code} for {self.cdr}"


class PrepaidAccount(models.Model):
    """A customer's prepaid balance in one currency (minor units). Its row is locked by every entry, so the balance
    and each entry's `balance_after` follow one order; it never goes below `-overdraft_limit` (0 by default)."""

    customer = models.ForeignKey(PaymentCustomer, on_delete=models.PROTECT, related_name="prepaid_accounts")
    currency = models.CharField(max_length=3)
    balance = models.BigIntegerField(default=0, help_text="Minor units")
    overdraft_limit = models.PositiveBigIntegerField(
        default=0, help_text="Minor units the balance may go below zero (0: never negative)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
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
        TOP_UP = "top_up", "Top-up"
        SESSION_DEBIT = "session_debit", "Session (receipt) paid"
        FEE_DEBIT = "fee_debit", "Plan fee paid"
        REFUND = "refund", "Refund / credit"
        CORRECTION = "correction", "Correction"

    account = models.ForeignKey(PrepaidAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.BigIntegerField(help_text="Minor units: positive adds to the balance, negative takes from it")
    balance_after = models.BigIntegerField()
    reference = models.CharField(max_length=100, help_text='What it is for, once: "invoice:INV-…", "payment:12"…')
    description = models.CharField(max_length=255, blank=True)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="prepaid_entries"
    )
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="prepaid_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="prepaid_entries"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "prepaid entries"
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
