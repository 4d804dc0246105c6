"""Prepaid balances: an append-only ledger, each movement once per reference, never overdrawn — also when invoices
are paid from it at the same moment; topped up from the admin."""

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.billing.exceptions import PrepaidError, PrepaidLedgerError
from apps.billing.models import Invoice, PrepaidAccount, PrepaidEntry
from apps.billing.services.invoices import Line, invoice_issue
from apps.billing.services.plans import prepaid_correct, prepaid_invoice_pay, prepaid_top_up, prepaid_top_up_by_card
from tests.billing.factories import PaymentCustomerFactory, StoredPaymentMethodFactory
from tests.billing.test_admin import login, text_of


def receipt(customer, gross: str, currency: str = "EUR") -> Invoice:
    amount = Decimal(gross)
    line = Line("Charging", Decimal(1), "", Decimal("0.00"), amount, amount)
    return invoice_issue(kind=Invoice.Kind.RECEIPT, currency=currency, lines=[line], customer=customer)


def test_a_top_up_is_booked_once_per_reference(tenant_schema):
    customer = PaymentCustomerFactory()
    first = prepaid_top_up(customer=customer, amount=1000, currency="EUR", reference="bank:1")
    again = prepaid_top_up(customer=customer, amount=1000, currency="EUR", reference="bank:1")
    assert first == again and PrepaidAccount.objects.get().balance == 1000


def test_a_debit_never_overdraws_the_balance(tenant_schema):
    customer = PaymentCustomerFactory()
    prepaid_top_up(customer=customer, amount=300, currency="EUR", reference="bank:1")
    with pytest.raises(PrepaidError, match="overdraw"):
        prepaid_correct(customer=customer, amount=-301, currency="EUR", reference="fix:1", description="Typo")

    invoice = prepaid_invoice_pay(invoice=receipt(customer, "5.00"))

    # The balance pays what it holds; the rest stays due on the invoice.
    assert (invoice.amount_prepaid, invoice.status) == (Decimal("3.00"), Invoice.Status.PARTIALLY_PAID)
    assert PrepaidAccount.objects.get().balance == 0


def test_an_allowed_overdraft_lets_the_balance_go_negative_that_far(tenant_schema):
    customer = PaymentCustomerFactory()
    prepaid_top_up(customer=customer, amount=300, currency="EUR", reference="bank:1")
    PrepaidAccount.objects.update(overdraft_limit=100)
    invoice = prepaid_invoice_pay(invoice=receipt(customer, "5.00"))
    assert (invoice.amount_prepaid, PrepaidAccount.objects.get().balance) == (Decimal("4.00"), -100)


def test_another_currencys_balance_is_never_used(tenant_schema):
    customer = PaymentCustomerFactory()
    prepaid_top_up(customer=customer, amount=1000, currency="CHF", reference="bank:1")
    invoice = prepaid_invoice_pay(invoice=receipt(customer, "5.00"))
    assert (invoice.amount_prepaid, PrepaidAccount.objects.get().balance) == (0, 1000)


def test_entries_are_append_only(tenant_schema):
    entry = prepaid_top_up(customer=PaymentCustomerFactory(), amount=500, currency="EUR", reference="bank:1")
    entry.amount = 5000
    with pytest.raises(PrepaidLedgerError):
        entry.save()
    with pytest.raises(PrepaidLedgerError):
        entry.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        PrepaidEntry.objects.filter(pk=entry.pk).update(amount=5000)  # the database trigger


def test_a_card_top_up_captures_and_credits_the_balance(tenant_schema, stripe_api):
    customer = StoredPaymentMethodFactory().customer
    entry = prepaid_top_up_by_card(customer=customer, amount=2500, currency="EUR")
    assert (entry.kind, entry.balance_after, entry.payment.amount_captured) == ("top_up", 2500, 2500)
    assert entry.reference == f"payment:{entry.payment.pk}"


@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_never_overdraw(tenant):
    """Five 3.00 invoices paid at once from a 10.00 balance, each from its own thread, connection and transaction:
    the account's row lock makes them queue, so three are paid in full, one gets the 1.00 left, one nothing."""
    with schema_context(tenant.schema_name):
        customer = PaymentCustomerFactory()
        prepaid_top_up(customer=customer, amount=1000, currency="EUR", reference="bank:1")
        invoices = [receipt(customer, "3.00") for _ in range(5)]
    barrier, errors = threading.Barrier(len(invoices)), []

    def pay(invoice):
        try:
            with schema_context(tenant.schema_name):
                barrier.wait(timeout=10)
                prepaid_invoice_pay(invoice=invoice)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(invoice,)) for invoice in invoices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    with schema_context(tenant.schema_name):
        debits = sorted(PrepaidEntry.objects.filter(kind="session_debit").values_list("amount", flat=True))
        balances = sorted(PrepaidEntry.objects.values_list("balance_after", flat=True))
        assert debits == [-300, -300, -300, -100]
        assert balances == [0, 100, 400, 700, 1000]  # one chain: each entry follows the one before
        assert PrepaidAccount.objects.get().balance == 0


def test_finance_tops_up_from_the_admin_once(tenant):
    with schema_context(tenant.schema_name):
        customer = PaymentCustomerFactory(email="ann@example.test")
        account = prepaid_top_up(customer=customer, amount=100, currency="EUR", reference="bank:1").account
    client = login(tenant, role=Role.FINANCE)
    form = {"action": "prepaid_top_up_action", "_selected_action": [account.pk], "apply": "1"}
    form.update(amount="20.00", reference="transfer-42", description="Bank transfer")

    page = client.post(
        "/admin/billing/prepaidaccount/", {"action": "prepaid_top_up_action", "_selected_action": [account.pk]}
    )
    answers = [client.post("/admin/billing/prepaidaccount/", form) for _ in range(2)]  # a double submit

    assert "balance 1.00 EUR" in text_of(page)
    assert [answer.status_code for answer in answers] == [302, 302]
    with schema_context(tenant.schema_name):
        assert PrepaidAccount.objects.get().balance == 2100
        assert PrepaidEntry.objects.filter(reference="transfer-42").get().actor.role == Role.FINANCE
    listing = text_of(client.get(f"/admin/billing/prepaidaccount/{account.pk}/change/"))
    assert "transfer-42" in listing and "21.00 EUR" in listing


def test_support_cannot_top_up(tenant):
    with schema_context(tenant.schema_name):
        account = prepaid_top_up(customer=PaymentCustomerFactory(), amount=100, currency="EUR", reference="b").account
    client = login(tenant, role=Role.SUPPORT)
    form = {"action": "prepaid_top_up_action", "_selected_action": [account.pk], "apply": "1", "amount": "5"}
    client.post("/admin/billing/prepaidaccount/", {**form, "reference": "x"})
    with schema_context(tenant.schema_name):
        assert PrepaidAccount.objects.get().balance == 100
