"""The language of pages: the switcher (set_language) on tenant and platform hosts, the user's saved choice, the
browser's Accept-Language, the tenant's default language, and the API that always speaks English."""

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.models import User
from tests.accounts.factories import PASSWORD, UserFactory

ALPHA = "alpha.localhost"


def _login_page(client: Client) -> str:
    response = client.get("/admin/login/")
    assert response.status_code == 200
    return response.content.decode()


def _signed_in(tenant, **user_fields) -> tuple[Client, User]:
    with schema_context(tenant.schema_name):
        user = UserFactory(**user_fields)
    client = Client(HTTP_HOST=ALPHA)
    assert client.post("/admin/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client, user


def test_the_admin_login_page_speaks_the_browsers_language(tenant):
    page = _login_page(Client(HTTP_HOST=ALPHA, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5"))

    assert '<html lang="de"' in page
    assert "Anmelden" in page and "Passwort" in page  # Django's admin, in German
    assert "Sprache" in page  # the switcher's label, from the platform's catalog


def test_the_switcher_lists_every_language_and_marks_the_current_one(tenant):
    page = _login_page(Client(HTTP_HOST=ALPHA, HTTP_ACCEPT_LANGUAGE="fr"))

    assert 'action="/i18n/setlang/"' in page
    for code, name in settings.LANGUAGES:
        assert f'<option value="{code}" lang="{code}"' in page and name in page
    assert '<option value="fr" lang="fr" selected>' in page
    assert "Langue" in page  # the label, in French


def test_the_switcher_sets_the_language_and_goes_back_to_the_page(tenant):
    client = Client(HTTP_HOST=ALPHA, HTTP_ACCEPT_LANGUAGE="en")

    response = client.post("/i18n/setlang/", {"language": "de", "next": "/admin/login/?next=/admin/"})

    assert response.status_code == 302 and response["Location"] == "/admin/login/?next=/admin/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    page = _login_page(client)  # the cookie beats the browser's "en"
    assert '<html lang="de"' in page and "Anmelden" in page


def test_the_switcher_does_not_redirect_to_another_site(tenant):
    response = Client(HTTP_HOST=ALPHA).post("/i18n/setlang/", {"language": "de", "next": "https://evil.example/"})

    assert response.status_code == 302 and response["Location"] == "/"


def test_an_unknown_language_changes_nothing(tenant):
    client = Client(HTTP_HOST=ALPHA)

    response = client.post("/i18n/setlang/", {"language": "xx", "next": "/admin/login/"})

    assert response.status_code == 302 and settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert '<html lang="en"' in _login_page(client)


def test_a_signed_in_users_choice_is_saved_and_followed_on_another_device(tenant):
    client, user = _signed_in(tenant)

    client.post("/i18n/setlang/", {"language": "nl", "next": "/admin/"})

    with schema_context(tenant.schema_name):
        assert User.objects.get(pk=user.pk).locale == "nl"
    other_device = Client(HTTP_HOST=ALPHA, HTTP_ACCEPT_LANGUAGE="en")
    other_device.post("/admin/login/", {"username": user.email, "password": PASSWORD})
    page = other_device.get("/admin/").content.decode()
    assert '<html lang="nl"' in page and "Laadstations" in page  # the saved choice beats the browser's header


def test_the_admin_index_is_translated_down_to_the_model_names(tenant):
    client, _ = _signed_in(tenant, locale="de")

    page = client.get("/admin/").content.decode()

    for text in ("Ladestationen", "Anschlüsse", "Störungen", "Ladevorgänge", "Tarife", "Rechnungen", "Abrechnung"):
        assert text in page


def test_the_tenants_default_language_applies_when_the_browser_names_none(tenant):
    tenant.default_locale = "de"
    tenant.save(update_fields=["default_locale"])

    assert '<html lang="de"' in _login_page(Client(HTTP_HOST=ALPHA))
    # A browser that names a language we have keeps it; one naming only others gets the tenant's default.
    assert '<html lang="fr"' in _login_page(Client(HTTP_HOST=ALPHA, HTTP_ACCEPT_LANGUAGE="fr-CH, fr;q=0.9"))
    assert '<html lang="de"' in _login_page(Client(HTTP_HOST=ALPHA, HTTP_ACCEPT_LANGUAGE="ja, pt;q=0.8"))


def test_the_platform_admin_has_the_switcher_too(platform_tenant):
    client = Client(HTTP_HOST="localhost")

    response = client.post("/i18n/setlang/", {"language": "es", "next": "/admin/login/"})

    assert response.status_code == 302 and response["Location"] == "/admin/login/"
    page = _login_page(client)
    assert '<html lang="es"' in page and 'action="/i18n/setlang/"' in page
    assert "Administración de la plataforma de carga" in page


@pytest.mark.parametrize("accept", ["de", "fr;q=1.0"])
def test_the_api_speaks_english_whatever_the_browser_asks(tenant, accept):
    response = Client(HTTP_HOST=ALPHA, HTTP_ACCEPT_LANGUAGE=accept).get("/api/v1/stations/")

    assert response.status_code == 401
    assert response["Content-Language"] == "en"
    assert response.json()["error"]["message"] == "Authentication credentials were not provided."


def test_the_oauth_sign_in_page_is_translated(tenant):
    page = Client(HTTP_HOST=ALPHA, HTTP_ACCEPT_LANGUAGE="de").get("/oauth/login/").content.decode()

    assert "Zum Fortfahren anmelden" in page and "Passwort" in page
    assert 'action="/i18n/setlang/"' in page


def test_an_unknown_host_answers_in_the_browsers_language(db):
    response = Client(HTTP_HOST="nowhere.localhost", HTTP_ACCEPT_LANGUAGE="de").get("/")

    assert response.status_code == 404
    assert "Nicht gefunden" in response.content.decode()
