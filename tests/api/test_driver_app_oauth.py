"""The driver app's OAuth 2.0 client (apps/api/services/driver_app.py): one public PKCE client per brand whose
redirect URIs follow the brand's domains, that a signed-in driver uses without a consent page; its token reads the
driver's own account and nothing of other people."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client
from django_tenants.utils import schema_context
from oauth2_provider.models import Application
from oauth2_provider.settings import oauth2_settings

from apps.accounts.roles import Role
from apps.api.models import OAuthApplicationScopes
from apps.api.services.driver_app import (
    DRIVER_APP_CLIENT_ID,
    DRIVER_APP_SCOPES,
    driver_app_client,
    driver_app_redirect_uris,
)
from apps.whitelabel.models import Domain
from tests.accounts.factories import PASSWORD, UserFactory

ALPHA = "alpha.localhost"
CALLBACK = f"http://{ALPHA}/app/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def client_of(tenant) -> Application:
    with schema_context(tenant.schema_name):
        return driver_app_client()


def signed_in_driver(tenant, **fields) -> tuple[Client, object]:
    with schema_context(tenant.schema_name):
        user = UserFactory(role=Role.DRIVER, **fields)
    browser = Client(HTTP_HOST=ALPHA)
    response = browser.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return browser, user


def authorize(browser: Client, client_id: str, challenge: str, redirect_uri: str = CALLBACK):
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "locations:read stations:read tariffs:read me:read me:write",
        "state": "s-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return browser.get("/oauth/authorize/?" + urlencode(params))


def exchange(client_id: str, code: str, verifier: str, redirect_uri: str = CALLBACK):
    return Client(HTTP_HOST=ALPHA).post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )


def code_for(tenant) -> tuple[str, str, object]:
    """A signed-in driver goes through /oauth/authorize/ straight back to the app: (code, verifier, user)."""
    application = client_of(tenant)
    browser, user = signed_in_driver(tenant)
    verifier, challenge = pkce_pair()
    response = authorize(browser, application.client_id, challenge)
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["s-123"]
    return query["code"][0], verifier, user


def test_the_whole_pkce_flow_gives_the_app_a_token_for_the_drivers_own_account(tenant):
    code, verifier, user = code_for(tenant)

    response = exchange(DRIVER_APP_CLIENT_ID, code, verifier)

    assert response.status_code == 200, response.content
    tokens = response.json()
    assert set(tokens["scope"].split()) == {"locations:read", "stations:read", "tariffs:read", "me:read", "me:write"}
    assert tokens["refresh_token"]
    api = Client(HTTP_HOST=ALPHA, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    me = api.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json() == {"id": user.pk, "email": user.email, "name": user.get_full_name(), "language": "en"}


def test_a_wrong_verifier_gets_no_token(tenant):
    code, verifier, _ = code_for(tenant)

    response = exchange(DRIVER_APP_CLIENT_ID, code, verifier[:-2] + "xy")

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_the_drivers_token_cannot_read_other_peoples_data(tenant):
    code, verifier, _ = code_for(tenant)
    token = exchange(DRIVER_APP_CLIENT_ID, code, verifier).json()["access_token"]
    api = Client(HTTP_HOST=ALPHA, HTTP_AUTHORIZATION=f"Bearer {token}")

    for path in ("/api/v1/sessions/", "/api/v1/tokens/", "/api/v1/users/", "/api/v1/cdrs/"):
        response = api.get(path)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "scope_missing", path


def test_the_token_endpoint_refuses_a_scope_the_driver_app_was_not_allowed(tenant):
    application = client_of(tenant)
    browser, _ = signed_in_driver(tenant)
    _, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": CALLBACK,
        "scope": "me:read sessions:read",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }

    response = browser.get("/oauth/authorize/?" + urlencode(params))

    assert response.status_code == 302 and "error=invalid_scope" in response["Location"]


def test_a_driver_who_is_not_signed_in_is_sent_to_the_brands_login_first(tenant):
    application = client_of(tenant)
    _, challenge = pkce_pair()

    response = authorize(Client(HTTP_HOST=ALPHA), application.client_id, challenge)

    assert response.status_code == 302 and response["Location"].startswith("/oauth/login/?next=/oauth/authorize/")


def test_a_redirect_uri_off_the_brands_domains_is_refused(tenant):
    application = client_of(tenant)
    browser, _ = signed_in_driver(tenant)
    _, challenge = pkce_pair()

    response = authorize(browser, application.client_id, challenge, redirect_uri="https://evil.example/app/callback")

    assert response.status_code == 400  # shown to the person, never redirected to an unregistered URI
    assert "evil.example" not in response.get("Location", "")


def test_one_client_per_brand_brought_up_to_date_with_the_brands_domains(tenant, outsider):
    first = client_of(tenant)
    with schema_context("public"):
        Domain.objects.create(domain="charge.alpha.test", tenant=tenant, is_primary=False)

    again = client_of(tenant)
    other = client_of(outsider)

    assert again.pk == first.pk and again.client_id == DRIVER_APP_CLIENT_ID
    assert again.client_type == Application.CLIENT_PUBLIC and again.skip_authorization
    assert "https://charge.alpha.test/app/callback" in again.redirect_uris.split()
    assert "http://charge.alpha.test/app/callback" not in again.redirect_uris.split()  # not DEBUG, not .localhost
    assert "https://bravo.localhost/app/callback" not in again.redirect_uris.split()
    with schema_context(tenant.schema_name):
        assert Application.objects.filter(client_id=DRIVER_APP_CLIENT_ID).count() == 1
        assert sorted(again.api_scopes.scopes) == [
            "locations:read",
            "me:read",
            "me:write",
            "stations:read",
            "tariffs:read",
        ]
    with schema_context(outsider.schema_name):
        assert "https://bravo.localhost/app/callback" in Application.objects.get(pk=other.pk).redirect_uris.split()


def test_a_development_servers_origin_on_a_brand_domain_is_added_and_others_are_not(tenant):
    with schema_context(tenant.schema_name):
        driver_app_client(origin="http://alpha.localhost:8000")
        driver_app_client(origin="http://elsewhere.localhost:8000")
        uris = driver_app_client().redirect_uris.split()

    assert "http://alpha.localhost:8000/app/callback" in uris
    assert not any("elsewhere" in uri for uri in uris)


def test_production_allows_no_plain_http_callback(tenant, monkeypatch):
    monkeypatch.setattr(oauth2_settings, "ALLOWED_REDIRECT_URI_SCHEMES", ["https"], raising=False)

    with schema_context(tenant.schema_name):
        uris = driver_app_redirect_uris(origin="http://alpha.localhost:8000")

    assert uris == ["https://alpha.localhost/app/callback"]


def test_asking_for_the_client_again_reads_and_writes_nothing_or_locks(tenant, django_assert_max_num_queries):
    client_of(tenant)

    with schema_context(tenant.schema_name), django_assert_max_num_queries(3) as queries:
        driver_app_client()

    statements = [query["sql"].upper() for query in queries.captured_queries]
    assert all(sql.startswith(("SELECT", "SET SEARCH_PATH")) for sql in statements), statements
    assert not any(sql.endswith("FOR UPDATE") for sql in statements)


def test_an_operator_who_narrowed_the_clients_scopes_finds_them_restored_on_the_next_call(tenant):
    application = client_of(tenant)
    with schema_context(tenant.schema_name):
        row = OAuthApplicationScopes.objects.filter(application=application)
        row.update(scopes=["me:read"], rate_limit_per_minute=7)

        restored = driver_app_client()

        assert sorted(restored.api_scopes.scopes) == sorted(DRIVER_APP_SCOPES)
        assert restored.api_scopes.rate_limit_per_minute == 7  # an operator's limit is theirs to set


@pytest.mark.parametrize("path", ["/accounts/", "/accounts/login/"])
def test_a_signed_in_driver_opening_the_account_pages_lands_in_the_app(tenant, path):
    browser, _ = signed_in_driver(tenant)

    response = browser.get(path)

    assert response.status_code == 302 and response["Location"] == "/app/"
