"""Our drivers' sessions at partners' stations billed to them (apps.roaming.receipts): a CPO partner's CDR of one of
our tokens becomes the driver's receipt, paid from the prepaid balance and then the card on file; a credit CDR
becomes the credit note of that receipt; each once. Stripe is faked at its library's HTTP layer."""

from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from apps.billing.models import Invoice, Payment, PaymentCustomerToken
from apps.billing.services.invoices import invoice_card_pay
from apps.billing.services.plans import prepaid_top_up
from apps.roaming.models import PartnerCdr
from apps.sessions.models import IdToken
from tests.accounts.factories import DriverFactory
from tests.billing.conftest import stripe_api  # noqa: F401 (a fixture: Stripe faked, used by every test here)
from tests.billing.factories import PaymentCustomerFactory, StoredPaymentMethodFactory
from tests.billing.fakes import DECLINED, NEEDS_3DS
from tests.roaming.conftest import ocpi, partner_as, roles_set
from tests.roaming.modules.test_cdrs import their_cdr
from tests.sessions.factories import IdTokenFactory

pytestmark = pytest.mark.usefixtures("stripe_api")

CDRS = "/ocpi/2.2.1/emsp/cdrs"


@pytest.fixture
def cpo_partner(alpha, partner):
    """Alpha as an eMSP; Bravo a CPO (DE*BRV) posting CDRs."""
    roles_set(alpha, ["EMSP"])
    with schema_context(alpha.schema_name):
        return partner_as(partner, role="CPO", country_code="DE", party_id="BRV", endpoints_role="SENDER")


def our_driver(*, card: str | None = "pm_card_visa", balance: int = 0):
    """A driver of ours with the RFID card ALP-1 (the CDRs' token), paying by `card`, with `balance` cents."""
    customer = PaymentCustomerFactory(user=DriverFactory())
    if card:
        StoredPaymentMethodFactory(customer=customer, provider_reference=card)
    if balance:
        prepaid_top_up(customer=customer, amount=balance, currency="EUR", reference="bank:1")
    token = IdTokenFactory(uid="ALP-1", type=IdToken.Type.ISO14443)
    PaymentCustomerToken.objects.create(customer=customer, id_token=token)
    return customer


def post(capture, cdr: dict):
    with capture(execute=True):  # the receipt is made once the CDR is committed
        response = ocpi("POST", CDRS, cdr)
    assert response.status_code == 201
    return response


def test_a_partners_cdr_of_our_drivers_card_is_their_receipt_paid_by_card_once(
    alpha, cpo_partner, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        customer = our_driver()

    post(django_capture_on_commit_callbacks, their_cdr())
    post(django_capture_on_commit_callbacks, their_cdr())  # the same CDR again (their retry): no second receipt

    with schema_context(alpha.schema_name):
        receipt = Invoice.objects.get()
        assert (receipt.kind, receipt.customer, receipt.token_uid) == ("receipt", customer, "ALP-1")
        assert (receipt.total_net, receipt.total_gross) == (Decimal("4.35"), Decimal("5.26"))
        assert [(line.description, line.quantity, line.gross) for line in receipt.lines.all()] == [
            ("Charging session", Decimal("11"), Decimal("5.26"))
        ]
        assert receipt.notes == "Roaming: Berlin (DE*BRV via Bravo Power), CDR BRV-CDR-1"
        assert receipt.status == "paid" and receipt.amount_paid == Decimal("5.26")
        payment = Payment.objects.get()
        assert (payment.purpose, payment.reference, payment.amount_captured) == ("roaming_session", receipt.number, 526)
        assert PartnerCdr.objects.get().invoice == receipt


def test_the_prepaid_balance_pays_first_and_the_card_the_rest(alpha, cpo_partner, django_capture_on_commit_callbacks):
    with schema_context(alpha.schema_name):
        our_driver(balance=300)

    post(django_capture_on_commit_callbacks, their_cdr())

    with schema_context(alpha.schema_name):
        receipt = Invoice.objects.get()
        assert (receipt.amount_prepaid, receipt.amount_paid, receipt.status) == (Decimal("3"), Decimal("5.26"), "paid")
        assert Payment.objects.get().amount_captured == 226


def test_a_declined_card_leaves_the_receipt_open(alpha, cpo_partner, django_capture_on_commit_callbacks):
    with schema_context(alpha.schema_name):
        our_driver(card=DECLINED)

    post(django_capture_on_commit_callbacks, their_cdr())

    with schema_context(alpha.schema_name):
        receipt = Invoice.objects.get()
        assert (receipt.status, receipt.amount_paid) == ("open", Decimal("0"))
        assert Payment.objects.get().status == Payment.Status.FAILED


def test_a_card_asking_for_confirmation_is_never_charged_twice(alpha, cpo_partner, django_capture_on_commit_callbacks):
    with schema_context(alpha.schema_name):
        our_driver(card=NEEDS_3DS)

    post(django_capture_on_commit_callbacks, their_cdr())

    with schema_context(alpha.schema_name):
        receipt = Invoice.objects.get()
        assert receipt.status == "open" and Payment.objects.get().status == Payment.Status.REQUIRES_ACTION
        waiting = Payment.objects.get()
        # e.g. a second run: the first payment is still waiting for the driver's bank, and is what comes back
        assert invoice_card_pay(invoice=receipt, purpose="roaming_session", description="Receipt") == waiting
        assert Payment.objects.count() == 1


def test_a_credit_cdr_is_the_credit_note_of_the_receipt(alpha, cpo_partner, django_capture_on_commit_callbacks):
    with schema_context(alpha.schema_name):
        our_driver()
    post(django_capture_on_commit_callbacks, their_cdr())

    credit = their_cdr(
        id="BRV-CDR-2", credit=True, credit_reference_id="BRV-CDR-1", total_cost={"excl_vat": -4.35, "incl_vat": -5.26}
    )
    post(django_capture_on_commit_callbacks, credit)

    with schema_context(alpha.schema_name):
        receipt, note = Invoice.objects.order_by("pk")
        assert receipt.status == "credited"
        assert (note.kind, note.credited_invoice, note.total_gross) == ("credit_note", receipt, Decimal("-5.26"))
        assert note.status == "open"  # the receipt was paid: the refund is due
        assert Payment.objects.count() == 1  # a credit note charges nothing


@pytest.mark.parametrize(
    "cdr_token",
    [
        {"country_code": "NL", "party_id": "ALP", "uid": "NOT-OURS", "type": "RFID", "contract_id": "C-9"},
        {"country_code": "FR", "party_id": "XYZ", "uid": "ALP-1", "type": "RFID", "contract_id": "C-1"},  # theirs
        {"country_code": "NL", "party_id": "ALP", "uid": "ALP-1", "type": "APP_USER", "contract_id": "C-1"},
    ],
)
def test_a_cdr_of_a_token_that_is_not_ours_bills_nobody(
    alpha, cpo_partner, django_capture_on_commit_callbacks, cdr_token
):
    with schema_context(alpha.schema_name):
        our_driver()

    post(django_capture_on_commit_callbacks, their_cdr(cdr_token=cdr_token))

    with schema_context(alpha.schema_name):
        assert not Invoice.objects.exists() and not Payment.objects.exists()
        assert PartnerCdr.objects.get().invoice is None
