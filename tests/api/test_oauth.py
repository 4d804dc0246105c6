"""OAuth 2.0 beside API keys: client credentials, authorization code with PKCE, per-application scopes, tokens
that belong to one brand only, client secrets' fast hasher, and each brand's authorization server metadata."""

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth.hashers import get_hasher, make_password
from django.test import Client, RequestFactory
from django.utils import timezone
from django_tenants.utils import schema_context
from oauth2_provider.models import AccessToken, Application
from rest_framework.exceptions import AuthenticationFailed

from apps.accounts.roles import Role
from apps.api.authentication import OAuthTokenAuthentication
from apps.api.exceptions import ApiKeyInvalidScopeError
from apps.api.models import OAuthApplicationScopes, Scope
from apps.api.oauth import ClientSecretHasher, oauth_application_create, oauth_application_scopes_set
from tests.accounts.factories import PASSWORD, UserFactory
from tests.api.conftest import api_client

ALPHA = "alpha.localhost"
BRAVO = "bravo.localhost"
REDIRECT_URI = "https://driver-app.example/callback"


def server_app_in(tenant, scopes=(Scope.STATIONS_READ,), **kwargs) -> tuple[Application, str]:
    with schema_context(tenant.schema_name):
        return oauth_application_create(
            name="Fleet server",
            client_type=Application.CLIENT_CONFIDENTIAL,
            grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            scopes=scopes,
            **kwargs,
        )


def public_app_in(tenant, scopes=(Scope.STATIONS_READ, Scope.SESSIONS_READ)) -> Application:
    with schema_context(tenant.schema_name):
        application, secret = oauth_application_create(
            name="Driver app",
            client_type=Application.CLIENT_PUBLIC,
            grant_type=Application.GRANT_AUTHORIZATION_CODE,
            scopes=scopes,
            redirect_uris=REDIRECT_URI,
        )
    assert secret is None
    return application


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def client_credentials(host: str, application: Application, secret: str, scope: str | None = None):
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope is not None else {})
    return Client(HTTP_HOST=host).post("/oauth/token/", data, HTTP_AUTHORIZATION=basic(application.client_id, secret))


def token_of(host: str, application: Application, secret: str, scope: str | None = None) -> str:
    response = client_credentials(host, application, secret, scope)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(application: Application, challenge: str | None, **extra) -> dict:
    params = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "stations:read sessions:read",
        "state": "xyz",
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return params | extra


def signed_in_browser(tenant, role=Role.DRIVER) -> tuple[Client, object]:
    with schema_context(tenant.schema_name):
        user = UserFactory(role=role)
    browser = Client(HTTP_HOST=ALPHA)
    assert browser.post("/oauth/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return browser, user


def code_from(browser: Client, application: Application, challenge: str) -> str:
    params = authorize_params(application, challenge)
    assert browser.get("/oauth/authorize/?" + urlencode(params)).status_code == 200
    response = browser.post("/oauth/authorize/", params | {"allow": "Authorize"})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"] and query["iss"] == [f"http://{ALPHA}"]
    return query["code"][0]


def exchange(application: Application, code: str, verifier: str):
    return Client(HTTP_HOST=ALPHA).post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": application.client_id,
            "code_verifier": verifier,
        },
    )


def _error(response) -> dict:
    return response.json()["error"]


# Client credentials


def test_a_client_credentials_token_reads_stations_with_its_scope(tenant):
    application, secret = server_app_in(tenant)

    response = client_credentials(ALPHA, application, secret, "stations:read")

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "stations:read"
    assert body["expires_in"] == 3600 and "refresh_token" not in body
    assert api_client(ALPHA, body["access_token"]).get("/api/v1/stations/").status_code == 200


def test_the_client_secret_is_stored_hashed_and_the_token_only_as_its_checksum(tenant):
    application, secret = server_app_in(tenant)

    token = token_of(ALPHA, application, secret)

    with schema_context(tenant.schema_name):
        stored = Application.objects.get(pk=application.pk)
        access_token = AccessToken.objects.get()
    assert secret not in stored.client_secret and stored.client_secret.startswith("client_secret_pbkdf2_sha256$")
    assert access_token.token == "" and access_token.token_checksum == hashlib.sha256(token.encode()).hexdigest()


# Client secrets' hasher


def test_a_client_secret_is_hashed_with_few_iterations_and_gets_tokens_in_the_header_or_the_body(tenant, settings):
    application, secret = server_app_in(tenant)

    with schema_context(tenant.schema_name):
        stored = Application.objects.get(pk=application.pk).client_secret
    in_body = Client(HTTP_HOST=ALPHA).post(
        "/oauth/token/",
        {"grant_type": "client_credentials", "client_id": application.client_id, "client_secret": secret},
    )

    algorithm, iterations, _, _ = stored.split("$")
    assert (algorithm, int(iterations)) == ("client_secret_pbkdf2_sha256", settings.OAUTH_CLIENT_SECRET_ITERATIONS)
    assert int(iterations) <= 10_000  # not Django's 10^6: a token request costs well under a millisecond of hashing
    assert client_credentials(ALPHA, application, secret).status_code == 200
    assert in_body.status_code == 200 and in_body.json()["access_token"]
    assert client_credentials(ALPHA, application, secret[:-1]).status_code == 401


def test_a_secret_hashed_before_with_djangos_default_hasher_still_gets_a_token(tenant):
    application, _ = server_app_in(tenant)
    secret = "an-older-secret-" + secrets.token_urlsafe(32)
    with schema_context(tenant.schema_name):
        # What applications created before the client secret hasher hold: Django's PBKDF2, 10^6 iterations.
        old_hash = make_password(secret, hasher="pbkdf2_sha256")
        Application.objects.filter(pk=application.pk).update(client_secret=old_hash)
    assert old_hash.startswith("pbkdf2_sha256$1000000$")

    assert client_credentials(ALPHA, application, secret).status_code == 200


def test_user_passwords_keep_djangos_default_hasher():
    from config.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    assert base.PASSWORD_HASHERS[-1] == "apps.api.oauth.ClientSecretHasher"
    assert base.OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"] == ClientSecretHasher.algorithm
    assert get_hasher("default").algorithm != ClientSecretHasher.algorithm


def test_a_wrong_client_secret_gets_no_token(tenant):
    application, _ = server_app_in(tenant)

    response = client_credentials(ALPHA, application, "not-the-secret")

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_token_without_the_scope_is_refused_with_403(tenant):
    application, secret = server_app_in(tenant, scopes=[Scope.STATIONS_READ, Scope.LOCATIONS_READ])
    token = token_of(ALPHA, application, secret, "locations:read")

    response = api_client(ALPHA, token).get("/api/v1/stations/")

    assert response.status_code == 403
    assert _error(response)["code"] == "scope_missing" and "stations:read" in _error(response)["message"]


def test_asking_for_more_scopes_than_allowed_is_refused_with_invalid_scope(tenant):
    application, secret = server_app_in(tenant, scopes=[Scope.STATIONS_READ])

    response = client_credentials(ALPHA, application, secret, "stations:read tariffs:write")

    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"
    with schema_context(tenant.schema_name):
        assert not AccessToken.objects.exists()


def test_asking_for_no_scope_gets_every_allowed_scope(tenant):
    application, secret = server_app_in(tenant, scopes=[Scope.STATIONS_READ, Scope.LOCATIONS_READ])

    response = client_credentials(ALPHA, application, secret)

    assert response.status_code == 200
    assert sorted(response.json()["scope"].split()) == ["locations:read", "stations:read"]


def test_an_application_without_allowed_scopes_gets_no_token(tenant):
    application, secret = server_app_in(tenant)
    with schema_context(tenant.schema_name):
        OAuthApplicationScopes.objects.filter(application=application).delete()

    response = client_credentials(ALPHA, application, secret, "stations:read")

    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_narrowing_an_applications_scopes_narrows_its_live_tokens(tenant):
    application, secret = server_app_in(tenant, scopes=[Scope.STATIONS_READ, Scope.LOCATIONS_READ])
    token = token_of(ALPHA, application, secret)
    with schema_context(tenant.schema_name):
        oauth_application_scopes_set(application=application, scopes=[Scope.LOCATIONS_READ])

    assert api_client(ALPHA, token).get("/api/v1/locations/").status_code == 200
    assert api_client(ALPHA, token).get("/api/v1/stations/").status_code == 403


def test_unknown_scopes_cannot_be_allowed(tenant_schema):
    with pytest.raises(ApiKeyInvalidScopeError):
        oauth_application_create(
            name="x", client_type="confidential", grant_type="client-credentials", scopes=["stations:destroy"]
        )


# Tokens that stop working


def test_an_expired_token_answers_401_token_expired(tenant):
    application, secret = server_app_in(tenant)
    token = token_of(ALPHA, application, secret)
    with schema_context(tenant.schema_name):
        AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))

    response = api_client(ALPHA, token).get("/api/v1/stations/")

    assert response.status_code == 401
    assert _error(response) == {"code": "token_expired", "message": "This access token has expired.", "fields": {}}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_revoked_token_answers_401_token_unknown(tenant):
    application, secret = server_app_in(tenant)
    token = token_of(ALPHA, application, secret)

    revoke = Client(HTTP_HOST=ALPHA).post(
        "/oauth/revoke_token/", {"token": token}, HTTP_AUTHORIZATION=basic(application.client_id, secret)
    )

    assert revoke.status_code == 200
    response = api_client(ALPHA, token).get("/api/v1/stations/")
    assert response.status_code == 401 and _error(response)["code"] == "token_unknown"


def test_an_unknown_token_answers_401_token_unknown(tenant):
    response = api_client(ALPHA, "not-a-token-at-all").get("/api/v1/stations/")

    assert response.status_code == 401
    assert _error(response) == {"code": "token_unknown", "message": "Unknown or revoked access token.", "fields": {}}


def test_api_keys_still_work_beside_tokens(alpha_api):
    assert alpha_api.get("/api/v1/stations/").status_code == 200


# Tenants


def test_another_brands_token_is_unknown_on_this_brands_host(tenant, outsider):
    application, secret = server_app_in(outsider)
    bravo_token = token_of(BRAVO, application, secret)

    assert api_client(BRAVO, bravo_token).get("/api/v1/stations/").status_code == 200
    response = api_client(ALPHA, bravo_token).get("/api/v1/stations/")
    assert response.status_code == 401 and _error(response)["code"] == "token_unknown"


def test_another_brands_client_gets_no_token_on_this_brands_host(tenant, outsider):
    application, secret = server_app_in(outsider)

    response = client_credentials(ALPHA, application, secret, "stations:read")

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


# Authorization code with PKCE


def test_the_authorization_code_flow_with_pkce_gives_a_token_for_the_signed_in_user(tenant):
    application = public_app_in(tenant)
    # A person's token reads what the person's role may read (apps/api/permissions.py): staff, here.
    browser, user = signed_in_browser(tenant, role=Role.READ_ONLY)
    verifier, challenge = pkce_pair()

    code = code_from(browser, application, challenge)
    response = exchange(application, code, verifier)

    assert response.status_code == 200
    body = response.json()
    assert sorted(body["scope"].split()) == ["sessions:read", "stations:read"] and body["refresh_token"]
    assert api_client(ALPHA, body["access_token"]).get("/api/v1/stations/").status_code == 200
    request = RequestFactory().get("/api/v1/stations/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    with schema_context(tenant.schema_name):
        client, _ = OAuthTokenAuthentication().authenticate(request)
    assert client.client_id == f"oauth:{application.client_id}" and client.name == "Driver app"
    assert client.user == user and client.scopes == {"sessions:read", "stations:read"}


def test_signing_in_is_asked_first_and_the_consent_page_is_branded(tenant):
    application = public_app_in(tenant)
    browser = Client(HTTP_HOST=ALPHA)
    _, challenge = pkce_pair()
    url = "/oauth/authorize/?" + urlencode(authorize_params(application, challenge))

    response = browser.get(url)

    assert response.status_code == 302 and response["Location"].startswith("/oauth/login/?next=")
    with schema_context(tenant.schema_name):
        user = UserFactory(role=Role.DRIVER)
    signed_in = browser.post(
        response["Location"], {"username": user.email, "password": PASSWORD, "next": url}, follow=True
    )
    page = signed_in.content.decode()
    assert signed_in.status_code == 200 and "Alpha Charge" in page and "Allow Driver app" in page
    assert "Read stations, EVSEs and connectors" in page and "Read charging sessions" in page


def test_a_wrong_code_verifier_is_refused_with_invalid_grant(tenant):
    application = public_app_in(tenant)
    browser, _ = signed_in_browser(tenant)
    _, challenge = pkce_pair()
    code = code_from(browser, application, challenge)

    response = exchange(application, code, secrets.token_urlsafe(48))

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_code_request_without_pkce_is_refused(tenant):
    application = public_app_in(tenant)
    browser, _ = signed_in_browser(tenant)

    response = browser.get("/oauth/authorize/?" + urlencode(authorize_params(application, None)))

    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["invalid_request"] and "code" not in query


def test_a_code_request_with_plain_pkce_gets_no_code(tenant):
    application = public_app_in(tenant)
    browser, _ = signed_in_browser(tenant)
    params = authorize_params(application, None, code_challenge="abc" * 15, code_challenge_method="plain")

    response = browser.post("/oauth/authorize/", params | {"allow": "Authorize"})

    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["invalid_request"] and "code" not in query
    assert "S256" in query["error_description"][0]


def test_denying_consent_gives_no_code(tenant):
    application = public_app_in(tenant)
    browser, _ = signed_in_browser(tenant)
    _, challenge = pkce_pair()

    response = browser.post("/oauth/authorize/", authorize_params(application, challenge))

    assert parse_qs(urlsplit(response["Location"]).query)["error"] == ["access_denied"]


def test_a_refresh_rotates_the_refresh_token(tenant):
    application = public_app_in(tenant)
    browser, _ = signed_in_browser(tenant, role=Role.READ_ONLY)  # a role that reads stations
    verifier, challenge = pkce_pair()
    first = exchange(application, code_from(browser, application, challenge), verifier).json()

    def refresh(refresh_token):
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": application.client_id}
        return Client(HTTP_HOST=ALPHA).post("/oauth/token/", data)

    second = refresh(first["refresh_token"])

    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    assert api_client(ALPHA, second.json()["access_token"]).get("/api/v1/stations/").status_code == 200
    assert refresh(first["refresh_token"]).json()["error"] == "invalid_grant"


def test_introspection_tells_a_client_whether_a_token_is_active(tenant):
    application, secret = server_app_in(tenant)
    token = token_of(ALPHA, application, secret)
    auth = basic(application.client_id, secret)

    active = Client(HTTP_HOST=ALPHA).post("/oauth/introspect/", {"token": token}, HTTP_AUTHORIZATION=auth)
    unknown = Client(HTTP_HOST=ALPHA).post("/oauth/introspect/", {"token": "nope"}, HTTP_AUTHORIZATION=auth)

    assert active.status_code == 200
    assert active.json() | {"exp": 0} == {
        "active": True,
        "scope": "stations:read",
        "client_id": application.client_id,
        "exp": 0,
    }
    assert unknown.json() == {"active": False}


def test_the_authentication_class_ignores_api_keys():
    request = RequestFactory().get("/", HTTP_AUTHORIZATION="Bearer evk_something")

    assert OAuthTokenAuthentication().authenticate(request) is None


def test_a_token_of_a_deactivated_user_is_refused(tenant):
    application = public_app_in(tenant)
    browser, user = signed_in_browser(tenant)
    verifier, challenge = pkce_pair()
    token = exchange(application, code_from(browser, application, challenge), verifier).json()["access_token"]
    with schema_context(tenant.schema_name):
        type(user).objects.filter(pk=user.pk).update(is_active=False)
        request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
        with pytest.raises(AuthenticationFailed):
            OAuthTokenAuthentication().authenticate(request)


# Authorization server metadata (RFC 8414)


def _metadata(host: str, secure: bool = True):
    return Client(HTTP_HOST=host).get("/.well-known/oauth-authorization-server", secure=secure)


def _metadata_of(origin: str) -> dict:
    return {
        "issuer": origin,
        "authorization_endpoint": f"{origin}/oauth/authorize/",
        "token_endpoint": f"{origin}/oauth/token/",
        "revocation_endpoint": f"{origin}/oauth/revoke_token/",
        "introspection_endpoint": f"{origin}/oauth/introspect/",
        "scopes_supported": list(Scope.values),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "authorization_response_iss_parameter_supported": True,
    }


def test_the_metadata_names_the_brands_issuer_and_endpoints_without_authentication(tenant):
    response = _metadata(ALPHA)

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json() == _metadata_of(f"https://{ALPHA}")
    assert response["Access-Control-Allow-Origin"] == "*"


def test_bravos_host_names_bravos_endpoints(tenant, outsider):
    response = _metadata(BRAVO)

    assert response.status_code == 200 and response.json() == _metadata_of(f"https://{BRAVO}")


def test_the_issuer_is_the_iss_of_authorization_responses(tenant):
    application = public_app_in(tenant)
    browser, _ = signed_in_browser(tenant)
    _, challenge = pkce_pair()
    params = authorize_params(application, challenge)
    response = browser.post("/oauth/authorize/", params | {"allow": "Authorize"})

    issued_by = parse_qs(urlsplit(response["Location"]).query)["iss"]

    assert issued_by == [_metadata(ALPHA, secure=False).json()["issuer"]] == [f"http://{ALPHA}"]


def test_the_advertised_token_endpoint_gives_a_token_to_client_secret_post(tenant):
    application, secret = server_app_in(tenant)
    metadata = _metadata(ALPHA).json()
    assert "client_secret_post" in metadata["token_endpoint_auth_methods_supported"]

    response = Client(HTTP_HOST=ALPHA).post(
        urlsplit(metadata["token_endpoint"]).path,
        {"grant_type": "client_credentials", "client_id": application.client_id, "client_secret": secret},
        secure=True,
    )

    assert response.status_code == 200 and response.json()["scope"] == "stations:read"


def test_the_metadata_answers_get_only(tenant):
    response = Client(HTTP_HOST=ALPHA).post("/.well-known/oauth-authorization-server", secure=True)

    assert response.status_code == 405


# Admin


def _admin(tenant, role=Role.ADMIN) -> Client:
    with schema_context(tenant.schema_name):
        user = UserFactory(role=role)
    client = Client(HTTP_HOST=ALPHA)
    assert client.post("/admin/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


ADD_FORM = {
    "name": "Partner portal",
    "client_type": "confidential",
    "authorization_grant_type": "client-credentials",
    "redirect_uris": "",
    "api_scopes-TOTAL_FORMS": "1",
    "api_scopes-INITIAL_FORMS": "0",
    "api_scopes-MIN_NUM_FORMS": "1",
    "api_scopes-MAX_NUM_FORMS": "1",
    "api_scopes-0-scopes": ["stations:read", "locations:read"],
    "api_scopes-0-rate_limit_per_minute": "600",
}


def test_admin_creates_an_application_with_its_scopes_and_shows_the_secret_once(tenant):
    admin = _admin(tenant)

    response = admin.post("/admin/oauth2_provider/application/add/", ADD_FORM, follow=True)

    assert response.status_code == 200
    [message] = [str(m) for m in response.context["messages"] if "not be shown again" in str(m)]
    secret = message.rsplit(" ", 1)[-1]
    with schema_context(tenant.schema_name):
        application = Application.objects.select_related("api_scopes").get()
    assert application.api_scopes.scopes == ["stations:read", "locations:read"]
    assert application.api_scopes.rate_limit_per_minute == 600
    assert secret not in application.client_secret
    assert application.client_secret.startswith("client_secret_pbkdf2_sha256$")
    assert token_of(ALPHA, application, secret, "locations:read")
    detail = admin.get(f"/admin/oauth2_provider/application/{application.pk}/change/").content.decode()
    assert secret not in detail and application.client_secret not in detail
    assert application.client_id in detail


def test_admin_refuses_client_credentials_for_a_public_client(tenant):
    response = _admin(tenant).post("/admin/oauth2_provider/application/add/", ADD_FORM | {"client_type": "public"})

    assert response.status_code == 200 and "need a confidential client" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert not Application.objects.exists()


def test_admin_renews_a_client_secret(tenant):
    application, old_secret = server_app_in(tenant)

    response = _admin(tenant).post(
        "/admin/oauth2_provider/application/",
        {"action": "secret_renew", "_selected_action": [application.pk]},
        follow=True,
    )

    [message] = [str(m) for m in response.context["messages"] if "not be shown again" in str(m)]
    new_secret = message.rsplit(" ", 1)[-1]
    assert client_credentials(ALPHA, application, old_secret).status_code == 401
    assert client_credentials(ALPHA, application, new_secret).status_code == 200
    with schema_context(tenant.schema_name):
        assert Application.objects.get(pk=application.pk).client_secret.startswith("client_secret_pbkdf2_sha256$")


def test_operators_see_applications_but_cannot_create_them(tenant):
    server_app_in(tenant)
    operator = _admin(tenant, role=Role.OPERATOR)

    assert operator.get("/admin/oauth2_provider/application/").status_code == 200
    assert operator.get("/admin/oauth2_provider/application/add/").status_code == 403
