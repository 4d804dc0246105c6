"""Our drivers' sessions at partners' stations, billed to them (we are the eMSP): a CPO partner's CDR of one of our
tokens becomes the driver's receipt — the CPO's prices as they charged them, line by line — paid from the prepaid
balance, then the card on file; a credit CDR becomes the credit note of that receipt. Once per CDR.

Runs after the CDR is committed (`cdr_store` queues `partner_cdr_bill_task`): with a Celery broker in a worker, so
the partner's request never waits on the payment provider; without one (the embedded default) in the same process,
after the CDR is stored, so a failing payment still never loses the CDR."""

from django.db import transaction

from apps.billing.models import Invoice
from apps.billing.selectors.plans import token_customer
from apps.billing.services.invoices import invoice_card_pay, invoice_for_cdr_document
from apps.billing.services.plans import prepaid_invoice_pay
from apps.roaming.models import PartnerCdr, PartnerLocation, RoamingSettings
from apps.roaming.modules.tokens import TOKEN_TYPE, roaming_tokens
from apps.sessions.models import IdToken

PAYMENT_PURPOSE = "roaming_session"  # a card payment of a roaming receipt (reference: the receipt's number)


def cdr_driver_token(cdr: PartnerCdr) -> IdToken | None:
    """Our token the CDR was charged with: its CdrToken names our party (or no party) and one of our roaming
    tokens' uid and OCPI type."""
    cdr_token = cdr.data.get("cdr_token") or {}
    ours = RoamingSettings.objects.values_list("country_code", "party_id").first()
    party = (str(cdr_token.get("country_code", "")).upper(), str(cdr_token.get("party_id", "")).upper())
    if ours is None or (all(party) and party != (ours[0].upper(), ours[1].upper())):
        return None
    candidates = roaming_tokens().filter(uid__iexact=str(cdr_token.get("uid", "")))
    return next((token for token in candidates if TOKEN_TYPE.get(token.type) == cdr_token.get("type")), None)


def _notes(cdr: PartnerCdr) -> str:
    """Where and whose: the location's name and city as the CDR (or their location) says, the CPO, the CDR id."""
    location = cdr.data.get("cdr_location") or {}
    if not location.get("name"):
        stored = PartnerLocation.objects.filter(
            partner=cdr.partner, country_code=cdr.country_code, party_id=cdr.party_id, object_id=location.get("id")
        ).first()
        location = {**location, **({"name": stored.data.get("name")} if stored else {})}
    place = ", ".join(str(part) for part in (location.get("name"), location.get("city")) if part)
    cpo = f"{cdr.country_code}*{cdr.party_id} via {cdr.partner.name}"
    return f"Roaming: {place or location.get('id', '')} ({cpo}), CDR {cdr.object_id}"


def partner_cdr_bill(*, partner_cdr_id: int) -> Invoice | None:
    """The receipt (or credit note) of a partner's CDR of one of our drivers, made once; paid from the balance and
    then the card. None when the CDR is not one of our tokens'."""
    with transaction.atomic():
        cdr = (
            PartnerCdr.objects.select_for_update(of=("self",))
            .select_related("partner", "invoice")
            .get(pk=partner_cdr_id)
        )
        if cdr.invoice is not None:
            return cdr.invoice
        token = cdr_driver_token(cdr)
        if token is None:
            return None
        original = None
        if cdr.credit:
            credited = PartnerCdr.objects.filter(
                partner=cdr.partner,
                country_code=cdr.country_code,
                party_id=cdr.party_id,
                object_id=cdr.credit_reference_id,
            ).first()
            original = credited.invoice if credited else None
        invoice = invoice_for_cdr_document(
            document=cdr.data,
            customer=token_customer(token),
            token_uid=token.uid,
            token_group_uid=token.group.uid if token.group else "",
            notes=_notes(cdr),
            credited_invoice=original,
        )
        cdr.invoice = invoice
        cdr.save(update_fields=["invoice", "updated_at"])
        if invoice.kind == Invoice.Kind.RECEIPT:
            invoice = prepaid_invoice_pay(invoice=invoice)
    if invoice.kind == Invoice.Kind.RECEIPT and invoice.amount_paid < invoice.total_gross:
        invoice_card_pay(invoice=invoice, purpose=PAYMENT_PURPOSE, description=f"Receipt {invoice.number}")
        invoice.refresh_from_db()
    return invoice
