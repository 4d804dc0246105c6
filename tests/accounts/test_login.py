"""Signing in with allauth on a brand's host: email and password, verification, password reset, the second factor,
and the admin's and OAuth's logins going through the same flow."""

import re
import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.core import mail
from django.core.files.base import ContentFile
from django.test import Client, override_settings
from django.utils import translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.whitelabel.models import Branding
from tests.accounts.factories import PASSWORD, UserFactory

ALPHA = "alpha.localhost"
BRAVO = "bravo.localhost"


def staff_of(tenant, role=Role.OPERATOR, **fields) -> User:
    with schema_context(tenant.schema_name):
        return UserFactory(role=role, **fields)


def sign_in(host: str, email: str, password: str = PASSWORD, path: str = "/accounts/login/", **extra):
    client = Client(HTTP_HOST=host)
    return client, client.post(path, {"login": email, "password": password, **extra})


def totp_code(secret: str, offset: int = 0) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


def test_the_login_page_is_the_brands(tenant, outsider):
    Branding.objects.filter(tenant=tenant).update(primary_colour="#123abc", support_email="help@alpha.test")

    page = Client(HTTP_HOST=ALPHA).get("/accounts/login/").content.decode()

    assert "Sign in to Alpha Charge" in page and "#123abc" in page and "help@alpha.test" in page
    assert "Bravo Power" not in page
    assert 'name="login"' in page and 'type="email"' in page


def test_staff_sign_in_with_email_and_land_on_the_portal(tenant):
    user = staff_of(tenant, email="ann@alpha.test")

    client, response = sign_in(ALPHA, "Ann@Alpha.test")

    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200
    with schema_context(tenant.schema_name):
        assert User.objects.get(pk=user.pk).last_login is not None


def test_the_same_credentials_are_refused_on_another_brands_host(tenant, outsider):
    staff_of(tenant, email="ann@alpha.test")

    client, response = sign_in(BRAVO, "ann@alpha.test")

    assert response.status_code == 200
    assert "Please enter the correct email address and password." in response.content.decode()
    assert client.get("/portal/").status_code == 302  # still signed out there


def test_a_wrong_password_is_refused_with_a_clear_error(tenant):
    staff_of(tenant, email="ann@alpha.test")

    client, response = sign_in(ALPHA, "ann@alpha.test", "not-the-password")

    assert response.status_code == 200 and "Please enter the correct" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_unverified_address_gets_a_verification_email_instead_of_a_session(tenant):
    staff_of(tenant, email="new@alpha.test", email_verified=False)

    client, response = sign_in(ALPHA, "new@alpha.test")

    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@alpha.test"] and "Alpha Charge" in mail.outbox[0].from_email


def test_following_the_verification_link_verifies_and_signs_in(tenant):
    staff_of(tenant, email="new@alpha.test", email_verified=False)
    client, _ = sign_in(ALPHA, "new@alpha.test")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    path = link.split(ALPHA, 1)[1]

    response = client.post(path)

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        assert EmailAddress.objects.get(email="new@alpha.test").verified


def test_password_reset_email_is_in_the_brands_look_and_from_its_sender(tenant):
    Branding.objects.filter(tenant=tenant).update(
        email_sender="hello@alpha.test", email_sender_name="Alpha Team", primary_colour="#aa3300"
    )
    branding = Branding.objects.get(tenant=tenant)
    branding.logo.save("alpha.png", ContentFile(b"\x89PNG\r\n\x1a\n"))
    staff_of(tenant, email="ann@alpha.test")

    response = Client(HTTP_HOST=ALPHA).post("/accounts/password/reset/", {"email": "ann@alpha.test"})

    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.from_email == "Alpha Team <hello@alpha.test>"
    assert message.to == ["ann@alpha.test"]
    assert "Hello from Alpha Charge!" in message.body and f"http://{ALPHA}/accounts/password/reset/key/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "#aa3300" in html and "Alpha Charge" in html
    assert f'src="http://{ALPHA}/media/branding/logos/alpha' in html  # mail clients need absolute URLs


def test_a_reset_link_sets_a_new_password(tenant):
    staff_of(tenant, email="ann@alpha.test")
    client = Client(HTTP_HOST=ALPHA)
    client.post("/accounts/password/reset/", {"email": "ann@alpha.test"})
    path = re.search(r"/accounts/password/reset/key/\S+/", mail.outbox[0].body).group(0)
    form = client.get(path, follow=True)
    new_password = "a-brand-new-secret-77"

    done = client.post(form.redirect_chain[-1][0], {"password1": new_password, "password2": new_password})

    assert done.status_code == 302
    assert sign_in(ALPHA, "ann@alpha.test", new_password)[1]["Location"] == "/portal/"
    assert sign_in(ALPHA, "ann@alpha.test", PASSWORD)[1].status_code == 200


def test_emails_speak_the_brands_default_language(tenant):
    tenant.default_locale = "de"
    tenant.save(update_fields=["default_locale"])
    staff_of(tenant, email="ann@alpha.test")

    Client(HTTP_HOST=ALPHA).post("/accounts/password/reset/", {"email": "ann@alpha.test"})

    with translation.override("de"):
        german_subject = gettext("Password Reset Email")
    assert german_subject != "Password Reset Email"
    assert mail.outbox[0].subject == german_subject and "Alpha Charge" in mail.outbox[0].body


def test_emails_speak_the_users_own_language_first(tenant):
    staff_of(tenant, email="ann@alpha.test", locale="fr")

    Client(HTTP_HOST=ALPHA).post("/accounts/password/reset/", {"email": "ann@alpha.test"})

    with translation.override("fr"):
        assert mail.outbox[0].subject == gettext("Password Reset Email")


def test_a_driver_signs_up_verifies_and_is_a_driver(tenant):
    client = Client(HTTP_HOST=ALPHA)

    password = "charge-me-up-2030"
    response = client.post(
        "/accounts/signup/", {"email": "Dora@Example.test", "password1": password, "password2": password}
    )

    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    with schema_context(tenant.schema_name):
        user = User.objects.get(email="dora@example.test")
        assert (user.role, user.is_staff, user.username) == (Role.DRIVER, False, "dora@example.test")
        assert not EmailAddress.objects.get(user=user).verified
    assert "Alpha Charge" in mail.outbox[0].from_email


def test_platform_hosts_take_no_sign_ups(platform_tenant):
    page = Client(HTTP_HOST="localhost").get("/accounts/signup/")
    login = Client(HTTP_HOST="localhost").get("/accounts/login/")

    assert "Sign Up Closed" in page.content.decode()
    assert "Create a driver account" not in login.content.decode()


def test_a_brand_at_its_user_limit_takes_no_sign_ups(tenant):
    staff_of(tenant)
    tenant.max_users = 1
    tenant.save(update_fields=["max_users"])
    password = "charge-me-up-2030"

    response = Client(HTTP_HOST=ALPHA).post(
        "/accounts/signup/", {"email": "late@example.test", "password1": password, "password2": password}
    )

    assert "Sign Up Closed" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert not User.objects.filter(email="late@example.test").exists()


def test_changing_the_email_asks_to_verify_the_new_one(tenant):
    from apps.accounts.services import user_update

    user = staff_of(tenant, email="ann@alpha.test")
    with schema_context(tenant.schema_name):
        user_update(user=user, email="ann@new.test")
        assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
            ("ann@new.test", False)
        ]

    _, response = sign_in(ALPHA, "ann@new.test")

    assert response["Location"] == "/accounts/confirm-email/" and mail.outbox[0].to == ["ann@new.test"]


def test_the_admin_login_is_allauths(tenant):
    staff_of(tenant, email="ann@alpha.test")
    page = Client(HTTP_HOST=ALPHA).get("/admin/login/?next=/admin/").content.decode()
    assert 'name="login"' in page and "Alpha Charge" in page

    client, response = sign_in(ALPHA, "ann@alpha.test", path="/admin/login/?next=/admin/")

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_driver_signed_in_is_told_the_admin_is_not_theirs(tenant):
    staff_of(tenant, role=Role.DRIVER, email="dora@alpha.test")
    client, _ = sign_in(ALPHA, "dora@alpha.test")

    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 403 and "may not use the administration" in response.content.decode()


def _totp_enable(client: Client) -> str:
    # Setting up a second factor asks for the password again, whenever one signed in.
    assert client.get("/accounts/2fa/totp/activate/")["Location"].startswith("/accounts/reauthenticate/")
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200, page
    secret = client.session[SECRET_SESSION_KEY]
    assert client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)}).status_code == 302
    return secret


def test_totp_once_enabled_is_asked_at_every_login_admin_included(tenant):
    user = staff_of(tenant, email="ann@alpha.test")
    client, _ = sign_in(ALPHA, "ann@alpha.test")
    secret = _totp_enable(client)
    with schema_context(tenant.schema_name):
        assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()

    for path in ("/accounts/login/", "/admin/login/?next=/admin/", "/oauth/login/"):
        again, response = sign_in(ALPHA, "ann@alpha.test", path=path)
        assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/", path
        assert again.get("/admin/").status_code == 302  # not signed in without the code
        assert "_auth_user_id" not in again.session

    wrong = again.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200 and "_auth_user_id" not in again.session
    right = again.post("/accounts/2fa/authenticate/", {"code": totp_code(secret, offset=0)})
    assert right.status_code == 302
    assert again.get("/portal/").status_code == 200


def test_the_authenticator_app_lists_the_brands_name(tenant):
    staff_of(tenant, email="ann@alpha.test")
    client, _ = sign_in(ALPHA, "ann@alpha.test")
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})

    page = client.get("/accounts/2fa/totp/activate/")

    assert "issuer=Alpha%20Charge" in page.context["totp_url"]
    assert 'src="data:image/svg+xml' in page.content.decode()  # the QR code to scan


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "3/5m/key"})
def test_repeated_failed_logins_are_slowed_down(tenant):
    from django.core.cache import cache

    cache.clear()
    staff_of(tenant, email="ann@alpha.test")
    for _ in range(3):
        sign_in(ALPHA, "ann@alpha.test", "wrong-password")

    _, response = sign_in(ALPHA, "ann@alpha.test")

    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session
    cache.clear()


@pytest.mark.parametrize("host", [ALPHA, BRAVO])
def test_logging_out_ends_the_session(tenant, outsider, host):
    brand = tenant if host == ALPHA else outsider
    staff_of(brand, email="ann@example.test")
    client, _ = sign_in(host, "ann@example.test")

    response = client.post("/accounts/logout/")

    assert response.status_code == 302 and client.get("/portal/").status_code == 302


def test_the_admins_logout_is_allauths(tenant):
    staff_of(tenant, email="ann@alpha.test")
    client, _ = sign_in(ALPHA, "ann@alpha.test", path="/admin/login/?next=/admin/")

    response = client.post("/admin/logout/")

    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_a_recovery_code_stands_in_for_the_authenticator_app(tenant):
    user = staff_of(tenant, email="ann@alpha.test")
    client, _ = sign_in(ALPHA, "ann@alpha.test")
    _totp_enable(client)
    codes = client.get("/accounts/2fa/recovery-codes/").context["unused_codes"]
    assert len(codes) == 10

    again, response = sign_in(ALPHA, "ann@alpha.test")
    signed_in = again.post("/accounts/2fa/authenticate/", {"code": codes[0]})

    assert signed_in.status_code == 302 and again.get("/portal/").status_code == 200
    with schema_context(tenant.schema_name):
        assert Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists()
    # A recovery code works once.
    third, _ = sign_in(ALPHA, "ann@alpha.test")
    assert third.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 200
    assert "_auth_user_id" not in third.session


def test_a_driver_lands_in_the_driver_app_and_keeps_their_account_pages_in_the_brands_look(tenant):
    staff_of(tenant, role=Role.DRIVER, email="dora@alpha.test")

    client, response = sign_in(ALPHA, "dora@alpha.test")

    assert response["Location"] == "/app/"
    assert client.get("/accounts/")["Location"] == "/app/"
    for path in ("/accounts/2fa/", "/accounts/email/", "/accounts/password/change/"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "Alpha Charge" in page.content.decode() and "Sign out" in page.content.decode(), path
    assert client.get("/portal/").status_code == 403


def test_a_driver_signing_in_with_a_next_goes_there_not_to_the_app(tenant):
    staff_of(tenant, role=Role.DRIVER, email="dina@alpha.test")

    _, response = sign_in(ALPHA, "dina@alpha.test", path="/accounts/login/?next=/accounts/email/")

    assert response["Location"] == "/accounts/email/"
