"""Billing in the operator admin. Payments: the tenant's provider accounts (secrets are write-only), payments with
their refunds and event log, and the capture / release / refund actions. CDRs and invoices (read-only). Plans,
subscriptions (cancel, renew now) and prepaid balances (read-only ledger, the top-up action)."""

import csv
import json
import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.scoping import ScopedAdminMixin
from apps.billing.exceptions import BillingError, PaymentError
from apps.billing.models import (
    Cdr,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAccount,
    PaymentEvent,
    PaymentRefund,
    Plan,
    PrepaidAccount,
    PrepaidEntry,
    Provider,
    Subscription,
)
from apps.billing.money import amount_format, from_minor_units, to_minor_units
from apps.billing.ocpi import content_hash
from apps.billing.pdf import invoice_pdf
from apps.billing.selectors.invoices import invoice_csv_rows, invoice_list
from apps.billing.selectors.payments import payment_list
from apps.billing.selectors.plans import subscription_list
from apps.billing.services.cdrs import cdr_credit
from apps.billing.services.invoices import invoice_for_cdr
from apps.billing.services.payments import payment_cancel, payment_capture, payment_refund
from apps.billing.services.plans import prepaid_top_up, subscription_cancel, subscription_renew

REQUIRED = {
    Provider.STRIPE: ("webhook_secret",),
    Provider.ADYEN: ("api_key", "merchant_account", "hmac_key"),
}


class PaymentAccountForm(forms.ModelForm):
    """Secrets are typed in, never shown again: an empty secret field keeps the saved value."""

    class Meta:
        model = PaymentAccount
        fields = (
            "provider",
            "mode",
            "is_active",
            "secret_key",
            "connect_account_id",
            "publishable_key",
            "webhook_secret",
            "api_key",
            "merchant_account",
            "hmac_key",
            "live_endpoint_prefix",
            "offline_sandbox",
        )
        widgets = {name: forms.PasswordInput(render_value=False) for name in PaymentAccount.SECRET_FIELDS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.saved = {name: getattr(self.instance, name) for name in PaymentAccount.SECRET_FIELDS}
        for name, value in self.saved.items():
            if value:
                self.fields[name].help_text = gettext(
                    "Saved (hidden). Type a new value to replace it; leave empty to keep it."
                )

    def clean(self):
        cleaned = super().clean()
        for name, value in self.saved.items():
            if not cleaned.get(name):
                cleaned[name] = value
        provider = cleaned.get("provider")
        for name in REQUIRED.get(provider, ()):
            if not cleaned.get(name):
                self.add_error(name, gettext("Required for this provider."))
        if provider == Provider.STRIPE:
            if bool(cleaned.get("secret_key")) == bool(cleaned.get("connect_account_id")):
                self.add_error(
                    "secret_key",
                    gettext("Either the tenant's own secret key or a Connect account id (acct_…), not both."),
                )
            if cleaned.get("connect_account_id") and not cleaned["connect_account_id"].startswith("acct_"):
                self.add_error("connect_account_id", gettext("A Connect account id starts with acct_."))
        if provider == Provider.ADYEN and cleaned.get("hmac_key"):
            try:
                bytes.fromhex(cleaned["hmac_key"])
            except ValueError:
                self.add_error("hmac_key", gettext("The HMAC key is hexadecimal, as Adyen's Customer Area shows it."))
        return cleaned


@admin.register(PaymentAccount)
class PaymentAccountAdmin(admin.ModelAdmin):
    form = PaymentAccountForm
    list_display = ("__str__", "is_active", "credentials", "webhook_url", "updated_at")
    fieldsets = (
        (None, {"fields": ("provider", "mode", "is_active", "webhook_url")}),
        (
            _("Stripe"),
            {
                "fields": ("secret_key", "connect_account_id", "publishable_key", "webhook_secret"),
                "description": _(
                    "The tenant's own secret key, or its Connect account id charged through the platform."
                ),
            },
        ),
        (_("Adyen"), {"fields": ("api_key", "merchant_account", "hmac_key", "live_endpoint_prefix")}),
    )
    readonly_fields = ("webhook_url",)

    @admin.display(description=_("credentials"))
    def credentials(self, account):
        saved = [
            str(PaymentAccount._meta.get_field(name).verbose_name)
            for name in PaymentAccount.SECRET_FIELDS
            if getattr(account, name)
        ]
        return gettext("%(secrets)s saved") % {"secrets": ", ".join(saved)} if saved else gettext("none")

    @admin.display(description=_("webhook URL"))
    def webhook_url(self, account):
        """Where to point the provider's webhook: the tenant's primary domain, which selects its schema."""
        domain = getattr(connection.tenant, "get_primary_domain", lambda: None)()
        if account is None or not account.pk or domain is None:
            return gettext("Shown once saved.")
        return f"https://{domain.domain}/billing/webhooks/{account.provider}/"


class AmountForm(forms.Form):
    amount = forms.DecimalField(min_value=Decimal(0), decimal_places=3, help_text=_("In the payment's currency"))
    reason = forms.CharField(required=False, max_length=255)

    def __init__(self, *args, payment: Payment, maximum: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.fields["amount"].initial = from_minor_units(maximum, payment.currency)
        self.fields["amount"].help_text = gettext("At most %(amount)s") % {
            "amount": amount_format(maximum, payment.currency)
        }

    def clean_amount(self):
        try:
            return to_minor_units(self.cleaned_data["amount"], self.payment.currency)
        except PaymentError as error:
            raise forms.ValidationError(str(error)) from error


def _amount_action(modeladmin, request, queryset, *, action: str, title: str, maximum, perform, with_reason: bool):
    payments = list(queryset[:2])
    if len(payments) != 1:
        modeladmin.message_user(request, gettext("Choose one payment."), messages.WARNING)
        return None
    payment = payments[0]
    applying = "apply" in request.POST
    form = AmountForm(request.POST if applying else None, payment=payment, maximum=maximum(payment))
    if not with_reason:
        del form.fields["reason"]
    if applying and form.is_valid():
        try:
            text = perform(payment, form.cleaned_data["amount"], form.cleaned_data.get("reason", ""), request.user)
        except PaymentError as error:
            modeladmin.message_user(request, f"{payment}: {error}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{payment}: {text}", messages.SUCCESS)
        return HttpResponseRedirect(request.get_full_path())
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"{title}: {payment}",
        "form": form,
        "payment": payment,
        "action": action,
        "submit": title,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/billing/payment_action.html", context)


def _capture(payment, amount, reason, user) -> str:
    payment = payment_capture(payment=payment, amount=amount, currency=payment.currency, actor=user)
    return gettext("%(status)s, %(amount)s.") % {
        "status": payment.get_status_display(),
        "amount": amount_format(payment.amount_captured, payment.currency),
    }


def _refund(payment, amount, reason, user) -> str:
    refund = payment_refund(payment=payment, amount=amount, currency=payment.currency, reason=reason, actor=user)
    return gettext("refund of %(amount)s %(status)s.") % {
        "amount": amount_format(refund.amount, payment.currency),
        "status": refund.get_status_display().lower(),
    }


@admin.action(description=_("Capture the final amount…"), permissions=["capture"])
def capture_payment(modeladmin, request, queryset):
    return _amount_action(
        modeladmin,
        request,
        queryset,
        action="capture_payment",
        title=gettext("Capture"),
        maximum=lambda payment: payment.amount_authorised,
        perform=_capture,
        with_reason=False,
    )


@admin.action(description=_("Refund…"), permissions=["refund"])
def refund_payment(modeladmin, request, queryset):
    return _amount_action(
        modeladmin,
        request,
        queryset,
        action="refund_payment",
        title=gettext("Refund"),
        maximum=lambda payment: payment.refundable,
        perform=_refund,
        with_reason=True,
    )


@admin.action(description=_("Release the hold (cancel)"), permissions=["capture"])
def cancel_payment(modeladmin, request, queryset):
    for payment in queryset:
        try:
            payment_cancel(payment=payment, actor=request.user)
        except PaymentError as error:
            modeladmin.message_user(request, f"{payment}: {error}", messages.ERROR)
        else:
            modeladmin.message_user(
                request, gettext("%(payment)s: hold released.") % {"payment": payment}, messages.SUCCESS
            )


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PaymentRefundInline(ReadOnlyInline):
    model = PaymentRefund
    fields = readonly_fields = ("created_at", "amount", "status", "provider_reference", "reason", "requested_by")


class PaymentEventInline(ReadOnlyInline):
    model = PaymentEvent
    fields = readonly_fields = (
        "created_at",
        "source",
        "kind",
        "outcome",
        "amount",
        "currency",
        "status_before",
        "status_after",
        "detail",
        "event_id",
        "actor",
    )


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("__str__", "provider", "status", "authorised", "captured", "refunded", "created_at")
    list_filter = ("status", "provider", "purpose", "currency")
    search_fields = ("provider_reference", "reference", "customer__email")
    date_hierarchy = "created_at"
    fields = (
        "account",
        "provider",
        "provider_reference",
        "status",
        "purpose",
        "reference",
        "description",
        "customer",
        "payment_method",
        "authorised",
        "captured",
        "refunded",
        "failure_code",
        "failure_message",
        "created_at",
        "authorised_at",
        "captured_at",
        "cancelled_at",
    )
    readonly_fields = fields
    inlines = [PaymentRefundInline, PaymentEventInline]
    actions = [capture_payment, cancel_payment, refund_payment]

    def get_queryset(self, request):
        return payment_list()

    def has_add_permission(self, request):
        return False  # payments are made by the services (a session's hold, an invoice)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_capture_permission(self, request) -> bool:
        return request.user.has_perm("billing.capture_payment")

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("billing.refund_payment")

    @admin.display(description=_("held"), ordering="amount_authorised")
    def authorised(self, payment):
        return amount_format(payment.amount_authorised, payment.currency)

    @admin.display(description=_("captured"), ordering="amount_captured")
    def captured(self, payment):
        return amount_format(payment.amount_captured, payment.currency)

    @admin.display(description=_("refunded"), ordering="amount_refunded")
    def refunded(self, payment):
        return amount_format(payment.amount_refunded, payment.currency)


# --- CDRs and invoices ---------------------------------------------------------------------------------------------


class _ReadOnly(admin.ModelAdmin):
    """Issued documents are never edited in the admin: corrections are credit CDRs and credit notes."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.action(description=_("Credit the selected CDRs (a credit CDR and credit note each)"))
def cdr_credit_action(modeladmin, request, queryset):
    for cdr in queryset:
        try:
            credit = cdr_credit(cdr=cdr, reason=gettext("Credited in the admin by %(user)s") % {"user": request.user})
            invoice_for_cdr(cdr=credit)
        except BillingError as error:
            modeladmin.message_user(request, f"{cdr}: {error}", messages.ERROR)
        else:
            modeladmin.message_user(
                request, gettext("%(cdr)s credited by %(credit)s.") % {"cdr": cdr, "credit": credit}, messages.SUCCESS
            )


@admin.register(Cdr)
class CdrAdmin(ScopedAdminMixin, _ReadOnly):
    list_display = ("cdr_id", "session", "issued_at", "credit", "total_incl_vat", "currency", "needs_review")
    list_filter = ("needs_review", "credit", "currency")
    search_fields = ("cdr_id", "token_uid", "token_group_uid", "=session__id")
    date_hierarchy = "issued_at"
    actions = [cdr_credit_action]
    readonly_fields = (
        "cdr_id", "session", "revision", "credit", "credit_reference", "issued_at", "currency", "start_date_time",
        "end_date_time", "token_uid", "token_group_uid", "tariff_code", "total_energy_kwh", "total_excl_vat",
        "total_incl_vat", "needs_review", "review_reasons", "reason", "content_hash", "hash_verified",
        "ocpi_pretty", "invoice_links",
    )  # fmt: skip
    exclude = ("ocpi_json", "session_stopped_at", "session_energy_wh")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("billing.credit_cdr"):
            actions.pop("cdr_credit_action", None)
        return actions

    @admin.display(description=_("hash matches the JSON"), boolean=True)
    def hash_verified(self, cdr):
        return content_hash(cdr.ocpi_json) == cdr.content_hash

    @admin.display(description=_("OCPI CDR"))
    def ocpi_pretty(self, cdr):
        return format_html("<pre>{}</pre>", json.dumps(json.loads(cdr.ocpi_json), indent=2))

    @admin.display(description=_("invoices"))
    def invoice_links(self, cdr):
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:billing_invoice_change", args=[invoice.pk]), invoice.number)
                for invoice in cdr.invoices.all()
            ),
        )


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = ("position", "description", "quantity", "unit", "vat_rate", "net", "vat", "gross", "cdr")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.action(description=_("Export the selected invoices as CSV"))
def invoice_csv_action(modeladmin, request, queryset):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="invoices-{connection.schema_name}.csv"'
    csv.writer(response).writerows(invoice_csv_rows(queryset))
    return response


@admin.register(Invoice)
class InvoiceAdmin(_ReadOnly):
    list_display = ("number", "kind", "status", "issued_at", "total_gross", "amount_paid", "currency", "pdf_link")
    list_filter = ("kind", "status", "currency")
    search_fields = ("number", "token_uid", "token_group_uid", "cdr__cdr_id")
    date_hierarchy = "issued_at"
    actions = [invoice_csv_action]
    inlines = [InvoiceLineInline]
    readonly_fields = (
        "number", "kind", "status", "issued_at", "currency", "cdr_link", "payment_link", "credited_invoice",
        "token_uid", "token_group_uid", "customer", "period_start", "period_end", "total_net", "total_vat",
        "total_gross", "amount_paid", "notes", "pdf_link",
    )  # fmt: skip
    exclude = ("cdr", "payment")

    def get_urls(self):
        download = self.admin_site.admin_view(self.pdf_view)
        return [path("<int:invoice_id>/pdf/", download, name="billing_invoice_pdf"), *super().get_urls()]

    def pdf_view(self, request, invoice_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        invoice = get_object_or_404(invoice_list(), pk=invoice_id)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response

    @admin.display(description=_("PDF"))
    def pdf_link(self, invoice):
        return format_html('<a href="{}">{}</a>', reverse("admin:billing_invoice_pdf", args=[invoice.pk]), _("PDF"))

    @admin.display(description=_("CDR"))
    def cdr_link(self, invoice):
        if invoice.cdr_id is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:billing_cdr_change", args=[invoice.cdr_id]), invoice.cdr
        )

    @admin.display(description=_("payment"))
    def payment_link(self, invoice):
        if invoice.payment_id is None:
            return "—"
        url = reverse("admin:billing_payment_change", args=[invoice.payment_id])
        return format_html('<a href="{}">{}</a>', url, invoice.payment)


# --- Plans, subscriptions and prepaid balances ---------------------------------------------------------------------


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "monthly_fee", "currency", "included_kwh", "tariff_group_shown", "is_active")
    list_filter = ("is_active", "currency")
    search_fields = ("code", "name")
    fields = ("code", "name", "currency", "monthly_fee", "vat_rate", "included_kwh", "tariff_group", "is_active")

    def get_readonly_fields(self, request, obj=None):
        # Subscribers' invoices and the tariff assignments name the plan by its code and currency.
        return ("code", "currency") if obj is not None and obj.subscriptions.exists() else ()

    @admin.display(description=_("tariff customer group"))
    def tariff_group_shown(self, plan):
        return gettext("plan / %(ref)s") % {"ref": plan.customer_group_ref}


@admin.action(description=_("Cancel at the end of the period"))
def subscription_cancel_action(modeladmin, request, queryset):
    for subscription in queryset:
        subscription_cancel(subscription=subscription)
    modeladmin.message_user(request, gettext("Cancelled at the end of their periods."), messages.SUCCESS)


@admin.action(description=_("Renew or collect now"))
def subscription_renew_action(modeladmin, request, queryset):
    for subscription in queryset:
        try:
            renewed = subscription_renew(subscription_id=subscription.pk)
        except (BillingError, PaymentError) as error:
            modeladmin.message_user(request, f"{subscription}: {error}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{renewed}: {renewed.get_status_display()}.", messages.SUCCESS)


class SubscriptionInvoiceInline(ReadOnlyInline):
    model = Invoice
    fk_name = "subscription"
    fields = readonly_fields = ("number", "kind", "status", "issued_at", "total_gross", "amount_paid", "currency")


@admin.register(Subscription)
class SubscriptionAdmin(_ReadOnly):
    """Subscriptions are made and changed by the services (the driver's app): fees, credits and payments go with
    every change. The admin shows them, cancels at period end and renews or collects at once."""

    list_display = ("__str__", "plan", "status", "current_period_end", "included_kwh_used", "included_kwh")
    list_filter = ("status", "plan")
    search_fields = ("customer__email", "customer__name", "customer__provider_reference")
    readonly_fields = (
        "customer", "plan", "status", "anchor_at", "current_period_start", "current_period_end", "included_kwh",
        "included_kwh_used", "cancel_at_period_end", "cancelled_at", "created_at",
    )  # fmt: skip
    inlines = [SubscriptionInvoiceInline]
    actions = [subscription_cancel_action, subscription_renew_action]

    def get_queryset(self, request):
        return subscription_list()

    def has_change_permission(self, request, obj=None):
        # The actions need it; the form itself has only read-only fields.
        return request.user.has_perm("billing.change_subscription")


class TopUpForm(forms.Form):
    amount = forms.DecimalField(min_value=Decimal("0.001"), decimal_places=3, help_text=_("In the account's currency"))
    reference = forms.CharField(
        max_length=100, help_text=_("Once per account: a bank transfer's id, a voucher… (the same again is not booked)")
    )
    description = forms.CharField(max_length=255, required=False)

    def __init__(self, *args, account: PrepaidAccount, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["reference"].initial = f"admin:{uuid.uuid4().hex[:12]}"

    def clean_amount(self):
        try:
            return to_minor_units(self.cleaned_data["amount"], self.account.currency)
        except PaymentError as error:
            raise forms.ValidationError(str(error)) from error


@admin.action(description=_("Top up…"), permissions=["top_up"])
def prepaid_top_up_action(modeladmin, request, queryset):
    accounts = list(queryset[:2])
    if len(accounts) != 1:
        modeladmin.message_user(request, gettext("Choose one account."), messages.WARNING)
        return None
    account = accounts[0]
    applying = "apply" in request.POST
    form = TopUpForm(request.POST if applying else None, account=account)
    if applying and form.is_valid():
        try:
            entry = prepaid_top_up(
                customer=account.customer,
                amount=form.cleaned_data["amount"],
                currency=account.currency,
                reference=form.cleaned_data["reference"],
                description=form.cleaned_data["description"] or gettext("Top-up by %(user)s") % {"user": request.user},
                actor=request.user,
            )
        except BillingError as error:
            modeladmin.message_user(request, f"{account}: {error}", messages.ERROR)
        else:
            balance = _signed_amount(entry.balance_after, account.currency)
            modeladmin.message_user(
                request,
                gettext("%(account)s: topped up; balance %(balance)s.") % {"account": account, "balance": balance},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(request.get_full_path())
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": gettext("Top up: %(account)s") % {"account": account},
        "form": form,
        "account": account,
        "balance": _signed_amount(account.balance, account.currency),
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/billing/prepaid_top_up.html", context)


def _signed_amount(amount: int, currency: str) -> str:
    return ("-" if amount < 0 else "") + amount_format(abs(amount), currency)


class PrepaidEntryInline(ReadOnlyInline):
    model = PrepaidEntry
    fields = readonly_fields = ("created_at", "kind", "amount", "balance_after", "reference", "description", "actor")


@admin.register(PrepaidAccount)
class PrepaidAccountAdmin(admin.ModelAdmin):
    list_display = ("__str__", "balance_shown", "overdraft_limit", "updated_at")
    list_filter = ("currency",)
    search_fields = ("customer__email", "customer__name", "customer__provider_reference")
    fields = ("customer", "currency", "balance_shown", "overdraft_limit")
    readonly_fields = ("customer", "currency", "balance_shown")
    inlines = [PrepaidEntryInline]
    actions = [prepaid_top_up_action]

    def has_add_permission(self, request):
        return False  # an account opens with its first top-up

    def has_delete_permission(self, request, obj=None):
        return False

    def has_top_up_permission(self, request) -> bool:
        return request.user.has_perm("billing.top_up_prepaidaccount")

    @admin.display(description=_("balance"), ordering="balance")
    def balance_shown(self, account):
        return _signed_amount(account.balance, account.currency)


@admin.register(PrepaidEntry)
class PrepaidEntryAdmin(_ReadOnly):
    list_display = ("created_at", "account", "kind", "amount", "balance_after", "reference")
    list_filter = ("kind", "account__currency")
    search_fields = ("reference", "account__customer__email")
    date_hierarchy = "created_at"
    readonly_fields = (
        "account", "kind", "amount", "balance_after", "reference", "description", "invoice", "payment", "actor",
        "created_at",
    )  # fmt: skip
