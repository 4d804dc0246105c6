"""Billing listens to the sessions' lifecycle signals (sent after commit) and queues its tasks: a hold when a
session starts, the CDR, receipt and capture when it ends. Connected in BillingConfig.ready."""

from django.dispatch import receiver

from apps.sessions.signals import session_ended, session_started


@receiver(session_started, dispatch_uid="billing.session_started")
def session_started_hold(sender, *, session_id: int, schema_name: str, **kwargs) -> None:
    from apps.billing.tasks import session_hold_task

    session_hold_task.delay(schema_name, session_id)


@receiver(session_ended, dispatch_uid="billing.session_ended")
def session_ended_bill(sender, *, session_id: int, status: str, schema_name: str, **kwargs) -> None:
    from apps.billing.tasks import session_bill_task

    session_bill_task.delay(schema_name, session_id)
