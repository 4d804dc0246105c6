"""Users over the API: the brand's people, drivers created and changed, staff only read, passwords never shown."""

import json

from django.contrib.auth import authenticate
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.api.models import Scope
from apps.billing.models import PaymentCustomerToken
from tests.accounts.factories import DriverFactory, UserFactory
from tests.api.conftest import api_client, key_in
from tests.billing.factories import PaymentCustomerFactory
from tests.sessions.factories import IdTokenFactory

ALPHA = "alpha.localhost"


def post_json(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def patch_json(client, path, body):
    return client.patch(path, json.dumps(body), content_type="application/json")


def test_user_list_shows_this_brands_users_with_the_tokens_they_pay_for(tenant, outsider, alpha_api):
    with schema_context(tenant.schema_name):
        operator = UserFactory(email="ops@alpha.test", role=Role.OPERATOR)
        driver = DriverFactory(email="kim@alpha.test", first_name="Kim", last_name="Jansen")
        card = IdTokenFactory(uid="04AABBCC")
        PaymentCustomerToken.objects.create(customer=PaymentCustomerFactory(user=driver), id_token=card)
    with schema_context(outsider.schema_name):
        DriverFactory(email="someone@bravo.test")

    response = alpha_api.get("/api/v1/users/")

    assert response.status_code == 200, response.content
    rows = {row["email"]: row for row in response.json()["results"]}
    assert set(rows) == {"ops@alpha.test", "kim@alpha.test"}
    assert rows["ops@alpha.test"]["role"] == "operator" and rows["ops@alpha.test"]["id"] == operator.pk
    kim = rows["kim@alpha.test"]
    assert (kim["first_name"], kim["last_name"], kim["role"], kim["is_active"]) == ("Kim", "Jansen", "driver", True)
    assert kim["id_tokens"] == [{"id": card.pk, "uid": "04AABBCC", "type": "ISO14443", "status": "Accepted"}]
    assert "password" not in response.content.decode()


def test_user_list_filters_by_role_and_email(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        UserFactory(role=Role.OPERATOR)
        driver = DriverFactory(email="kim@alpha.test")

    drivers = alpha_api.get("/api/v1/users/", {"role": "driver"}).json()["results"]
    by_email = alpha_api.get("/api/v1/users/", {"email": "KIM@alpha.test"}).json()["results"]
    refused = alpha_api.get("/api/v1/users/", {"role": "superhero", "is_active": "perhaps"})

    assert [row["id"] for row in drivers] == [driver.pk]
    assert [row["id"] for row in by_email] == [driver.pk]
    assert set(refused.json()["error"]["fields"]) == {"role", "is_active"}


def test_post_creates_a_driver_without_a_usable_password(tenant, outsider, alpha_api):
    response = post_json(alpha_api, "/api/v1/users/", {"email": "New.Driver@Alpha.test", "first_name": "Noor"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["email"], body["role"], body["first_name"], body["id_tokens"]) == (
        "new.driver@alpha.test",
        "driver",
        "Noor",
        [],
    )
    with schema_context(tenant.schema_name):
        user = User.objects.get(pk=body["id"])
        assert not user.is_staff and not user.is_superuser and not user.has_usable_password()
    with schema_context(outsider.schema_name):
        assert not User.objects.filter(email="new.driver@alpha.test").exists()


def test_post_never_creates_staff(tenant, alpha_api):
    response = post_json(alpha_api, "/api/v1/users/", {"email": "boss@alpha.test", "role": "admin"})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["role"]
    with schema_context(tenant.schema_name):
        assert not User.objects.filter(email="boss@alpha.test").exists()


def test_emails_are_unique_in_the_brand_whatever_their_case(tenant, outsider, alpha_api):
    with schema_context(tenant.schema_name):
        DriverFactory(email="kim@alpha.test")
    with schema_context(outsider.schema_name):
        DriverFactory(email="noor@alpha.test")  # another brand's user with this address is no conflict

    taken = post_json(alpha_api, "/api/v1/users/", {"email": "KIM@alpha.test"})
    elsewhere = post_json(alpha_api, "/api/v1/users/", {"email": "noor@alpha.test"})
    malformed = post_json(alpha_api, "/api/v1/users/", {"email": "not-an-address"})

    assert taken.status_code == 400
    assert taken.json()["error"]["fields"] == {"email": ["Another user of this brand has this email address."]}
    assert elsewhere.status_code == 201
    assert list(malformed.json()["error"]["fields"]) == ["email"]


def test_patch_changes_a_drivers_name_email_and_activity(tenant):
    with schema_context(tenant.schema_name):
        driver = DriverFactory(email="kim@alpha.test", password="s3cret-enough-1")
    client = api_client(ALPHA, key_in(tenant, scopes=[Scope.USERS_READ, Scope.USERS_WRITE]))

    renamed = patch_json(client, f"/api/v1/users/{driver.pk}/", {"email": "kim.j@alpha.test", "last_name": "Jansen"})
    with schema_context(tenant.schema_name):
        logs_in_with_new_email = authenticate(username="kim.j@alpha.test", password="s3cret-enough-1") is not None
    deactivated = patch_json(client, f"/api/v1/users/{driver.pk}/", {"is_active": False})

    assert renamed.status_code == 200, renamed.content
    assert (renamed.json()["email"], renamed.json()["last_name"]) == ("kim.j@alpha.test", "Jansen")
    assert logs_in_with_new_email
    assert deactivated.json()["is_active"] is False
    with schema_context(tenant.schema_name):
        assert authenticate(username="kim.j@alpha.test", password="s3cret-enough-1") is None


def test_patch_refuses_an_email_another_user_has(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        DriverFactory(email="kim@alpha.test")
        noor = DriverFactory(email="noor@alpha.test")

    response = patch_json(alpha_api, f"/api/v1/users/{noor.pk}/", {"email": "Kim@alpha.test"})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["email"]


def test_staff_accounts_are_read_only(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        admin = UserFactory(email="admin@alpha.test", role=Role.ADMIN)

    read = alpha_api.get(f"/api/v1/users/{admin.pk}/")
    changed = patch_json(alpha_api, f"/api/v1/users/{admin.pk}/", {"is_active": False})

    assert read.status_code == 200 and read.json()["role"] == "admin"
    assert changed.status_code == 403
    assert changed.json()["error"]["code"] == "user_read_only"
    with schema_context(tenant.schema_name):
        assert User.objects.get(pk=admin.pk).is_active


def test_another_brands_user_is_not_found(tenant, outsider, alpha_api):
    with schema_context(outsider.schema_name):
        theirs = DriverFactory(email="someone@bravo.test")
    with schema_context(tenant.schema_name):
        User.objects.filter(pk=theirs.pk).delete()  # ids are per schema

    read = alpha_api.get(f"/api/v1/users/{theirs.pk}/")
    changed = patch_json(alpha_api, f"/api/v1/users/{theirs.pk}/", {"is_active": False})

    assert (read.status_code, changed.status_code) == (404, 404)
    with schema_context(outsider.schema_name):
        assert User.objects.get(pk=theirs.pk).is_active


def test_a_read_key_cannot_create_or_change_users(tenant):
    with schema_context(tenant.schema_name):
        driver = DriverFactory()
    reader = api_client(ALPHA, key_in(tenant, scopes=[Scope.USERS_READ]))

    created = post_json(reader, "/api/v1/users/", {"email": "new@alpha.test"})
    changed = patch_json(reader, f"/api/v1/users/{driver.pk}/", {"is_active": False})

    assert reader.get("/api/v1/users/").status_code == 200
    assert (created.status_code, changed.status_code) == (403, 403)
    assert created.json()["error"]["code"] == "scope_missing"


def test_a_key_without_user_scopes_cannot_list_users(tenant):
    assert api_client(ALPHA, key_in(tenant, scopes=[Scope.TOKENS_READ])).get("/api/v1/users/").status_code == 403


def test_another_brands_key_is_refused_and_a_bad_body_is_400(outsider, alpha_api):
    bravo_key_on_alpha = api_client(ALPHA, key_in(outsider))

    assert bravo_key_on_alpha.get("/api/v1/users/").status_code == 401
    assert post_json(bravo_key_on_alpha, "/api/v1/users/", {"email": "x@alpha.test"}).status_code == 401
    assert alpha_api.post("/api/v1/users/", "[", content_type="application/json").status_code == 400
