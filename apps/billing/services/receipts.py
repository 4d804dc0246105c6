"""A guest's receipt by email: a guest charges without an account (apps/billing/services/driver_charges.py), so the
email address they gave is the only way their receipt reaches them after the app is closed. Sent once, in the brand's
look and language, with the receipt's PDF attached; drivers with an account keep theirs in the app."""

import logging

from django.db import transaction
from django.utils import timezone

from apps.accounts.emails import branded_email_render, email_language
from apps.billing.models import Invoice
from apps.billing.pdf import invoice_pdf
from apps.billing.services.cdrs import tenant_current
from apps.sessions.models import GuestAccess

logger = logging.getLogger(__name__)


def guest_receipt_send(*, invoice: Invoice) -> bool:
    """Email `invoice` (a session's receipt) to the guest who charged, if they gave an address and it was not sent
    yet; True when sent. The guest's access row is locked meanwhile, so two billing runs send it once."""
    if invoice.kind != Invoice.Kind.RECEIPT or invoice.cdr_id is None:
        return False
    with transaction.atomic():
        access = (
            GuestAccess.objects.select_for_update()
            .filter(id_token__sessions__pk=invoice.cdr.session_id, receipt_sent_at__isnull=True)
            .exclude(email="")
            .first()
        )
        if access is None:
            return False
        tenant = tenant_current()
        session = invoice.cdr.session
        message = branded_email_render(
            tenant=tenant,
            template_prefix="billing/email/guest_receipt",
            to=[access.email],
            context={
                "invoice": invoice,
                "total": invoice.total_gross,
                "energy_kwh": invoice.cdr.total_energy_kwh.normalize(),
                "location": session.station.location.name if session.station.location_id else session.station.identity,
            },
            language=email_language(tenant=tenant),
        )
        message.attach(f"{invoice.number}.pdf", invoice_pdf(invoice), "application/pdf")
        message.send()
        access.receipt_sent_at = timezone.now()
        access.save(update_fields=["receipt_sent_at"])
    logger.info("receipt %s emailed to the guest of session %s", invoice.number, session.pk)
    return True
