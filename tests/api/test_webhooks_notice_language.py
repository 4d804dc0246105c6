"""The email that tells a brand's staff a webhook subscription was disabled speaks each reader's language."""

from django.core import mail
from django.db import connection

from apps.accounts.roles import Role
from apps.api.services.webhooks import webhook_subscription_create, webhook_subscription_disable
from apps.whitelabel.models import Tenant
from tests.accounts.factories import UserFactory


def _disable(django_capture_on_commit_callbacks) -> None:
    subscription, _ = webhook_subscription_create(url="http://127.0.0.1:9/hook", event_kinds=["*"])
    with django_capture_on_commit_callbacks(execute=True):
        webhook_subscription_disable(subscription=subscription, reason="Too many failures.", notify=True)


def test_each_admin_gets_the_notice_in_their_language(tenant_schema, django_capture_on_commit_callbacks):
    UserFactory(role=Role.ADMIN, email="de@alpha.test", locale="de")
    UserFactory(role=Role.ADMIN, email="en@alpha.test")

    _disable(django_capture_on_commit_callbacks)

    notices = {tuple(notice.to): notice for notice in mail.outbox}
    assert set(notices) == {("de@alpha.test",), ("en@alpha.test",)}
    german, english = notices[("de@alpha.test",)], notices[("en@alpha.test",)]
    assert german.subject.startswith("Webhook deaktiviert") and "Grund: Too many failures." in german.body
    assert english.subject.startswith("Webhook disabled") and "Why: Too many failures." in english.body


def test_without_a_language_of_their_own_staff_read_the_brands(tenant_schema, django_capture_on_commit_callbacks):
    Tenant.objects.filter(schema_name=connection.schema_name).update(default_locale="de")
    UserFactory(role=Role.ADMIN, email="one@alpha.test")
    UserFactory(role=Role.OWNER, email="two@alpha.test")

    _disable(django_capture_on_commit_callbacks)

    [notice] = mail.outbox
    assert notice.to == ["one@alpha.test", "two@alpha.test"]
    assert notice.subject.startswith("Webhook deaktiviert")
