"""ID tokens over the API: create, block, group; duplicates refused as authorisation would confuse them."""

import json
from datetime import UTC, datetime

from django_tenants.utils import schema_context

from apps.api.models import Scope
from apps.sessions.models import IdToken
from apps.sessions.services import id_token_authorize
from tests.api.conftest import api_client, key_in
from tests.sessions.factories import IdTokenFactory
from tests.stations.factories import StationFactory

ALPHA = "alpha.localhost"


def post_json(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def patch_json(client, path, body):
    return client.patch(path, json.dumps(body), content_type="application/json")


def authorize(tenant, uid: str, type: str = IdToken.Type.ISO14443) -> str:
    with schema_context(tenant.schema_name):
        return id_token_authorize(uid=uid, type=type, station_id=StationFactory().pk).status


def test_token_list_shows_this_brands_tokens_with_their_group(tenant, outsider, alpha_api):
    with schema_context(tenant.schema_name):
        fleet = IdTokenFactory(uid="FLEET-1", type=IdToken.Type.CENTRAL)
        card = IdTokenFactory(uid="04A1B2C3", group=fleet, label="Van 3")
    with schema_context(outsider.schema_name):
        IdTokenFactory(uid="BRAVO-CARD")

    response = alpha_api.get("/api/v1/tokens/")

    assert response.status_code == 200, response.content
    rows = {row["uid"]: row for row in response.json()["results"]}
    assert set(rows) == {"FLEET-1", "04A1B2C3"}
    assert rows["04A1B2C3"] == {
        "id": card.pk,
        "uid": "04A1B2C3",
        "type": "ISO14443",
        "status": "Accepted",
        "expires_at": None,
        "group": fleet.pk,
        "group_uid": "FLEET-1",
        "allow_concurrent": False,
        "label": "Van 3",
        "created_at": rows["04A1B2C3"]["created_at"],
    }


def test_token_list_filters_by_uid_status_and_type(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        card = IdTokenFactory(uid="04a1b2c3")
        blocked = IdTokenFactory(uid="BLOCKED-1", status=IdToken.Status.BLOCKED)
        emaid = IdTokenFactory(uid="NL-ABC-C12345678-X", type=IdToken.Type.EMAID)

    def ids(**params):
        return [row["id"] for row in alpha_api.get("/api/v1/tokens/", params).json()["results"]]

    assert ids(uid="04A1B2C3") == [card.pk]
    assert ids(status="Blocked") == [blocked.pk]
    assert ids(type="eMAID") == [emaid.pk]
    refused = alpha_api.get("/api/v1/tokens/", {"status": "Stolen", "group": "x"})
    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"status", "group"}


def test_a_created_token_is_accepted_by_authorisation(tenant, outsider, alpha_api):
    response = post_json(alpha_api, "/api/v1/tokens/", {"uid": " 04AABBCC ", "label": "Driver card"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["uid"], body["type"], body["status"]) == ("04AABBCC", "ISO14443", "Accepted")
    assert body["label"] == "Driver card"
    assert authorize(tenant, "04aabbcc") == "Accepted"
    with schema_context(outsider.schema_name):
        assert not IdToken.objects.filter(uid="04AABBCC").exists()


def test_a_duplicate_uid_of_the_same_type_is_refused_whatever_its_case(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        IdTokenFactory(uid="04AABBCC")

    duplicate = post_json(alpha_api, "/api/v1/tokens/", {"uid": "04aabbcc"})
    other_type = post_json(alpha_api, "/api/v1/tokens/", {"uid": "04AABBCC", "type": "Central"})

    assert duplicate.status_code == 400
    assert list(duplicate.json()["error"]["fields"]) == ["uid"]
    assert other_type.status_code == 201


def test_blocking_a_token_is_a_patch_of_its_status(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        token = IdTokenFactory(uid="04AABBCC")

    response = patch_json(alpha_api, f"/api/v1/tokens/{token.pk}/", {"status": "Blocked"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "Blocked"
    assert authorize(tenant, "04AABBCC") == "Blocked"


def test_an_expired_token_is_refused_by_authorisation(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        token = IdTokenFactory(uid="04AABBCC")

    response = patch_json(alpha_api, f"/api/v1/tokens/{token.pk}/", {"expires_at": "2020-01-01T00:00:00Z"})

    assert response.json()["expires_at"] == "2020-01-01T00:00:00Z"
    assert authorize(tenant, "04AABBCC") == "Expired"
    with schema_context(tenant.schema_name):
        assert IdToken.objects.get(pk=token.pk).expires_at == datetime(2020, 1, 1, tzinfo=UTC)


def test_a_blocked_group_blocks_its_members(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        fleet = IdTokenFactory(uid="FLEET-1", type=IdToken.Type.CENTRAL)

    member = post_json(alpha_api, "/api/v1/tokens/", {"uid": "04AABBCC", "group": fleet.pk}).json()
    patch_json(alpha_api, f"/api/v1/tokens/{fleet.pk}/", {"status": "Blocked"})

    assert (member["group"], member["group_uid"]) == (fleet.pk, "FLEET-1")
    assert authorize(tenant, "04AABBCC") == "Blocked"


def test_groups_authorisation_would_not_read_are_refused(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        fleet = IdTokenFactory(uid="FLEET-1")
        member = IdTokenFactory(uid="MEMBER-1", group=fleet)

    into_member = post_json(alpha_api, "/api/v1/tokens/", {"uid": "04AABBCC", "group": member.pk})
    itself = patch_json(alpha_api, f"/api/v1/tokens/{fleet.pk}/", {"group": fleet.pk})
    unknown = post_json(alpha_api, "/api/v1/tokens/", {"uid": "04AABBCC", "group": 999_999})

    for response in (into_member, itself, unknown):
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == ["group"]


def test_bad_token_input_is_refused_naming_the_field(alpha_api):
    bad_type = post_json(alpha_api, "/api/v1/tokens/", {"uid": "X", "type": "Barcode"})
    too_long = post_json(alpha_api, "/api/v1/tokens/", {"uid": "X" * 37})
    no_uid = post_json(alpha_api, "/api/v1/tokens/", {"status": "Accepted"})
    not_json = alpha_api.post("/api/v1/tokens/", "uid=X", content_type="application/json")

    assert list(bad_type.json()["error"]["fields"]) == ["type"]
    assert list(too_long.json()["error"]["fields"]) == ["uid"]
    assert list(no_uid.json()["error"]["fields"]) == ["uid"]
    assert not_json.status_code == 400


def test_another_brands_token_is_not_found(tenant, outsider, alpha_api):
    with schema_context(outsider.schema_name):
        theirs = IdTokenFactory(uid="BRAVO-CARD")
    with schema_context(tenant.schema_name):
        IdToken.objects.filter(pk=theirs.pk).delete()  # ids are per schema

    read = alpha_api.get(f"/api/v1/tokens/{theirs.pk}/")
    block = patch_json(alpha_api, f"/api/v1/tokens/{theirs.pk}/", {"status": "Blocked"})

    assert (read.status_code, block.status_code) == (404, 404)
    with schema_context(outsider.schema_name):
        assert IdToken.objects.get(pk=theirs.pk).status == IdToken.Status.ACCEPTED


def test_a_read_key_cannot_create_or_block_tokens(tenant):
    with schema_context(tenant.schema_name):
        token = IdTokenFactory()
    reader = api_client(ALPHA, key_in(tenant, scopes=[Scope.TOKENS_READ]))

    created = post_json(reader, "/api/v1/tokens/", {"uid": "04AABBCC"})
    blocked = patch_json(reader, f"/api/v1/tokens/{token.pk}/", {"status": "Blocked"})

    assert reader.get(f"/api/v1/tokens/{token.pk}/").status_code == 200
    assert (created.status_code, blocked.status_code) == (403, 403)
    assert blocked.json()["error"]["code"] == "scope_missing"
    with schema_context(tenant.schema_name):
        assert IdToken.objects.get(pk=token.pk).status == IdToken.Status.ACCEPTED


def test_another_brands_key_is_refused(outsider):
    bravo_key_on_alpha = api_client(ALPHA, key_in(outsider))

    assert bravo_key_on_alpha.get("/api/v1/tokens/").status_code == 401
    assert post_json(bravo_key_on_alpha, "/api/v1/tokens/", {"uid": "X"}).status_code == 401
