"""The outbox as a partner sees it: pushes arrive in order, a partner that is down gets them all, in order, once it
is back; a refused push (2xxx) or one for a module the partner no longer offers is given up and the next goes;
pushes are given up after OUTBOX_GIVE_UP; the beat sweep flushes the partners with a message due; and two flushes
at once never send a push twice."""

import threading
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import schema_context

from apps.roaming import outbox
from apps.roaming.models import OutboxMessage, Partner
from apps.roaming.outbox import OUTBOX_GIVE_UP, outbox_due, outbox_flush, outbox_push
from tests.roaming.factories import PartnerFactory

Status = OutboxMessage.Status


def push(partner, path: str, method: str = "PUT", module: str = "locations") -> OutboxMessage:
    return outbox_push(partner=partner, module=module, method=method, path=path, body={"at": path})


def wire(partner_server) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in partner_server.requests]


def test_pushes_go_out_after_commit_in_order(alpha, partner, partner_server, django_capture_on_commit_callbacks):
    with schema_context(alpha.schema_name), django_capture_on_commit_callbacks(execute=True):
        push(partner, "/NL/ALP/1")
        push(partner, "/NL/ALP/1", method="PATCH")
        push(partner, "/NL/ALP/2")
        assert partner_server.requests == []  # nothing leaves before the commit

    assert wire(partner_server) == [
        ("PUT", "/ocpi/2.2.1/locations/NL/ALP/1"),
        ("PATCH", "/ocpi/2.2.1/locations/NL/ALP/1"),
        ("PUT", "/ocpi/2.2.1/locations/NL/ALP/2"),
    ]
    assert partner_server.requests[0].body == {"at": "/NL/ALP/1"}
    with schema_context(alpha.schema_name):
        assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.SENT}


def test_a_partner_that_is_down_holds_later_messages_and_gets_them_when_back(
    alpha, partner, partner_server, django_capture_on_commit_callbacks
):
    partner_server.down = True
    with schema_context(alpha.schema_name):
        with django_capture_on_commit_callbacks(execute=True):
            first = push(partner, "/NL/ALP/1")
            second = push(partner, "/NL/ALP/1", method="PATCH")

        assert wire(partner_server) == [("PUT", "/ocpi/2.2.1/locations/NL/ALP/1")]  # the PATCH waits behind it
        first.refresh_from_db()
        assert first.status == Status.PENDING and first.attempts == 1 and "503" in first.last_error
        assert first.next_attempt_at > timezone.now() + timedelta(seconds=20)
        # A push recorded while the first waits for its retry waits too (and its flush returns).
        with django_capture_on_commit_callbacks(execute=True):
            third = push(partner, "/NL/ALP/2")
        assert len(partner_server.requests) == 1

        partner_server.down = False
        assert outbox_due() == []  # the first is not due yet
        OutboxMessage.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
        assert outbox_due() == [partner.pk]

        assert wire(partner_server)[1:] == [
            ("PUT", "/ocpi/2.2.1/locations/NL/ALP/1"),
            ("PATCH", "/ocpi/2.2.1/locations/NL/ALP/1"),
            ("PUT", "/ocpi/2.2.1/locations/NL/ALP/2"),
        ]
        for message in (first, second, third):
            message.refresh_from_db()
            assert message.status == Status.SENT and message.last_error == ""


def test_a_refused_message_is_given_up_and_the_next_goes(
    alpha, partner, partner_server, django_capture_on_commit_callbacks
):
    partner_server.answer("PUT", "/ocpi/2.2.1/locations/NL/ALP/bad", status_code=2001)
    with schema_context(alpha.schema_name):
        with django_capture_on_commit_callbacks(execute=True):
            refused = push(partner, "/NL/ALP/bad")
            unknown_module = push(partner, "/x", module="parking")  # not among the partner's endpoints
            fine = push(partner, "/NL/ALP/good")

        for message in (refused, unknown_module, fine):
            message.refresh_from_db()
    assert refused.status == Status.FAILED and "2001" in refused.last_error
    assert unknown_module.status == Status.FAILED and "parking" in unknown_module.last_error
    assert fine.status == Status.SENT
    assert wire(partner_server) == [
        ("PUT", "/ocpi/2.2.1/locations/NL/ALP/bad"),
        ("PUT", "/ocpi/2.2.1/locations/NL/ALP/good"),
    ]


def test_a_push_is_given_up_after_outbox_give_up(alpha, partner, partner_server, django_capture_on_commit_callbacks):
    partner_server.down = True
    with schema_context(alpha.schema_name):
        old = push(partner, "/NL/ALP/old")
        recent = push(partner, "/NL/ALP/recent")
        OutboxMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - OUTBOX_GIVE_UP)

        assert outbox_flush(partner_id=partner.pk) == 0

        old.refresh_from_db()
        recent.refresh_from_db()
    assert old.status == Status.FAILED and old.next_attempt_at is None
    # Once the old one is given up the next gets its own try, and waits for its retry.
    assert recent.status == Status.PENDING and recent.attempts == 1
    assert len(partner_server.requests) == 2


def test_outbox_due_flushes_only_registered_partners_with_a_message_due(alpha, partner, partner_server):
    with schema_context(alpha.schema_name):
        waiting = PartnerFactory(name="Waiting")
        Partner.objects.filter(pk=waiting.pk).update(
            status=Partner.Status.REGISTERED, endpoints=partner_server.endpoints("RECEIVER"), token_b="w-token"
        )
        left = PartnerFactory(name="Left")
        Partner.objects.filter(pk=left.pk).update(status=Partner.Status.UNREGISTERED)
        push(partner, "/NL/ALP/1")
        later = push(waiting, "/NL/ALP/2")
        OutboxMessage.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
        push(left, "/NL/ALP/3")

        assert outbox_due() == [partner.pk]
        # A flush for a partner that is not registered sends nothing (and returns).
        assert outbox_flush(partner_id=left.pk) == 0

    assert wire(partner_server) == [("PUT", "/ocpi/2.2.1/locations/NL/ALP/1")]


def test_a_second_flush_while_one_runs_does_not_send_twice(alpha, partner, partner_server):
    with schema_context(alpha.schema_name):
        push(partner, "/NL/ALP/1")
        key = outbox._lock_key(partner.pk)
    holding, release = threading.Event(), threading.Event()

    def other_flush():
        """Another worker's flush of the same partner, holding its lock while it waits on the partner."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
            holding.set()
            release.wait(10)
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])
        connection.close()

    thread = threading.Thread(target=other_flush)
    thread.start()
    assert holding.wait(10)
    try:
        with schema_context(alpha.schema_name):
            assert outbox_flush(partner_id=partner.pk) == 0
        assert partner_server.requests == []
    finally:
        release.set()
        thread.join(10)

    with schema_context(alpha.schema_name):
        assert outbox_flush(partner_id=partner.pk) == 1
        assert outbox_flush(partner_id=partner.pk) == 0
    assert len(partner_server.requests) == 1
