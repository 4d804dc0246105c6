import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from apps.accounts.models import User
from apps.whitelabel.exceptions import TemplateSchemaMissingError, TenantError
from apps.whitelabel.models import Domain, Tenant
from apps.whitelabel.services import platform_tenant_ensure, tenant_create
from tests.accounts.factories import UserFactory
from tests.whitelabel.factories import TenantFactory


def test_tenant_create_gives_the_brand_its_own_migrated_schema(db):
    tenant = tenant_create(
        slug="volt-city",
        name="Volt City",
        domains=["volt.example.test", "charge.volt.example"],
        currency="CHF",
        branding={"primary_colour": "#112233"},
    )

    assert tenant.schema_name == "volt_city"
    assert schema_exists("volt_city")
    assert tenant.branding.display_name == "Volt City"
    assert tenant.branding.primary_colour == "#112233"
    assert tenant.get_primary_domain().domain == "volt.example.test"
    assert set(tenant.domains.values_list("domain", flat=True)) == {"volt.example.test", "charge.volt.example"}
    with schema_context(tenant.schema_name):
        user = UserFactory(email="first@volt.example")
        assert list(User.objects.values_list("email", flat=True)) == ["first@volt.example"]
        assert user.pk == 1  # the cloned schema starts with its own sequences, not the template's


def test_tenant_create_with_a_taken_domain_leaves_no_row_and_no_schema(tenant):
    with pytest.raises(ValidationError) as error:
        tenant_create(slug="copycat", name="Copycat", domains=["alpha.localhost"])

    assert "domain" in error.value.message_dict
    assert not Tenant.objects.filter(slug="copycat").exists()
    assert not schema_exists("copycat")


@pytest.mark.parametrize("slug", ["Upper", "under_score", "x", "1digit", "bad slug", "public-" + "x" * 40])
def test_tenant_create_refuses_a_slug_that_cannot_name_a_schema(db, slug):
    with pytest.raises(ValidationError) as error:
        tenant_create(slug=slug, name="Bad", domains=["bad.example.test"])
    assert "slug" in error.value.message_dict


def test_tenant_create_refuses_a_brand_without_domains(db):
    with pytest.raises(TenantError):
        tenant_create(slug="nowhere", name="Nowhere", domains=[])


def test_tenant_create_explains_a_missing_template_schema(db):
    with connection.cursor() as cursor:
        cursor.execute('DROP SCHEMA "tenant_template" CASCADE')  # rolled back with the test

    with pytest.raises(TemplateSchemaMissingError, match="platform_migrate"):
        TenantFactory()


def test_tenant_create_refuses_an_unknown_time_zone(db):
    with pytest.raises(ValidationError) as error:
        tenant_create(slug="tz-brand", name="TZ", domains=["tz.example.test"], timezone="Mars/Olympus")
    assert "timezone" in error.value.message_dict


def test_platform_tenant_ensure_is_idempotent(db):
    first = platform_tenant_ensure(hosts=["localhost", "platform.example.test"])
    second = platform_tenant_ensure(hosts=["localhost", "platform.example.test"])

    assert first.pk == second.pk
    assert first.schema_name == "public"
    assert Tenant.objects.filter(schema_name="public").count() == 1
    assert Domain.objects.filter(tenant=first, domain="platform.example.test").count() == 1
