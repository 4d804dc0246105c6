"""`manage.py tenant create|suspend|resume|export|delete|list`: the brand lifecycle from the shell."""

import json
import zipfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from apps.whitelabel.models import Domain, Tenant, TenantEvent
from tests.stations.factories import StationFactory
from tests.whitelabel.factories import TenantFactory


def tenant_command(*args: str) -> str:
    out = StringIO()
    call_command("tenant", "--by", "ops@platform.test", *args, stdout=out)
    return out.getvalue()


def test_create_makes_a_brand_on_its_platform_subdomain_and_custom_domains(db, tmp_path):
    output = tenant_command(
        "create",
        "volt",
        "--name",
        "Volt City",
        "--kind",
        "reseller",
        "--domain",
        "charge.volt.example",
        "--currency",
        "CHF",
        "--timezone",
        "Europe/Zurich",
        "--locale",
        "de",
        "--plan",
        "starter",
        "--max-stations",
        "5",
        "--max-users",
        "20",
        "--primary-colour",
        "#123456",
        "--email-sender-name",
        "Volt Team",
        "--email-sender",
        "hello@volt.example",
        "--terms-url",
        "https://volt.example/terms",
    )

    volt = Tenant.objects.get(slug="volt")
    assert "Created volt (schema volt): volt.localhost, charge.volt.example" in output
    assert schema_exists("volt")
    assert (volt.kind, volt.currency, volt.timezone, volt.default_locale) == ("reseller", "CHF", "Europe/Zurich", "de")
    assert (volt.plan, volt.max_stations, volt.max_users) == ("starter", 5, 20)
    assert volt.get_primary_domain().domain == "volt.localhost"
    assert (volt.branding.display_name, volt.branding.email_sender_name) == ("Volt City", "Volt Team")
    assert TenantEvent.objects.get(tenant=volt, action="created").actor == "ops@platform.test"
    page = Client(HTTP_HOST="charge.volt.example").get("/admin/login/")
    assert page.status_code == 200 and b"#123456" in page.content


def test_create_can_make_a_customer_of_a_reseller(db):
    TenantFactory(slug="parent", kind=Tenant.Kind.RESELLER)

    tenant_command("create", "child", "--name", "Child", "--reseller", "parent")

    assert Tenant.objects.get(slug="child").reseller.slug == "parent"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["alpha", "--name", "Again"], "slug: Tenant with this Slug already exists"),
        (["Bad_Slug", "--name", "Bad"], "slug: 2 to 40 characters"),
        (["cheap", "--name", "Cheap", "--currency", "euro"], "currency: An ISO 4217 code"),
        (["taken", "--name", "Taken", "--domain", "alpha.localhost"], "domain: Domain with this Domain already exists"),
        (["orphan", "--name", "Orphan", "--reseller", "nobody"], "No brand has the slug 'nobody'"),
        (["nameless"], "the following arguments are required: --name"),
    ],
)
def test_create_explains_what_is_wrong_and_leaves_nothing(tenant, args, message):
    with pytest.raises(CommandError, match=message):
        tenant_command("create", *args)

    assert Tenant.objects.filter(slug=args[0]).count() == (1 if args[0] == "alpha" else 0)
    assert not schema_exists(args[0].replace("-", "_")) or args[0] == "alpha"


def test_suspend_and_resume_from_the_command(tenant):
    suspended = tenant_command("suspend", "alpha", "--reason", "unpaid invoices")
    tenant.refresh_from_db()
    assert "Suspended alpha" in suspended
    assert (tenant.suspended_by, tenant.suspension_reason) == ("ops@platform.test", "unpaid invoices")
    assert Client(HTTP_HOST="alpha.localhost").get("/admin/login/").status_code == 503
    with pytest.raises(CommandError, match="already suspended"):
        tenant_command("suspend", "alpha", "--reason", "twice")

    assert "Resumed alpha" in tenant_command("resume", "alpha")
    assert Client(HTTP_HOST="alpha.localhost").get("/admin/login/").status_code == 200
    with pytest.raises(CommandError, match="required: --reason"):
        tenant_command("suspend", "alpha")
    with pytest.raises(CommandError, match="No brand has the slug 'platform'"):
        tenant_command("suspend", "platform", "--reason", "no")


def test_export_writes_a_zip_whose_manifest_counts_its_rows(tenant, outsider, tmp_path):
    with schema_context(tenant.schema_name):
        StationFactory(identity="ALPHA-X")
    with schema_context(outsider.schema_name):
        StationFactory(identity="BRAVO-X")
    path = tmp_path / "exports" / "alpha.zip"

    output = tenant_command("export", "alpha", "--output", str(path))

    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        stations = archive.read("tables/stations_station.csv").decode()
    counts = {table["name"]: table["rows"] for table in manifest["tables"]}
    assert f"Exported alpha to {path}: {len(counts)} tables, {sum(counts.values())} rows." in output
    assert counts["stations_station"] == 1
    assert "ALPHA-X" in stations and "BRAVO-X" not in stations
    with pytest.raises(CommandError, match="exists; choose another file"):
        tenant_command("export", "alpha", "--output", str(path))


def test_delete_needs_a_suspended_brand_and_its_slug_and_can_export_first(db, tmp_path):
    TenantFactory(slug="leaving", domains=["leaving.example.test"])

    with pytest.raises(CommandError, match="not suspended: suspend it first"):
        tenant_command("delete", "leaving", "--confirm", "leaving")
    tenant_command("suspend", "leaving", "--reason", "contract over")
    with pytest.raises(CommandError, match="--confirm must repeat the slug"):
        tenant_command("delete", "leaving", "--confirm", "staying")
    with pytest.raises(CommandError, match="required: --confirm"):
        tenant_command("delete", "leaving")
    assert schema_exists("leaving")

    output = tenant_command("delete", "leaving", "--confirm", "leaving", "--export", str(tmp_path / "leaving.zip"))

    assert "Exported leaving" in output and "Deleted leaving" in output
    assert zipfile.ZipFile(tmp_path / "leaving.zip").read("manifest.json")
    assert not schema_exists("leaving")
    assert not Tenant.objects.filter(slug="leaving").exists()
    assert not Domain.objects.filter(domain="leaving.example.test").exists()
    assert list(TenantEvent.objects.filter(tenant_slug="leaving").values_list("action", flat=True)) == [
        "deleted",
        "exported",
        "suspended",
        "created",
    ]


def test_list_shows_every_brand_with_status_plan_and_usage(tenant, outsider):
    Tenant.objects.filter(pk=tenant.pk).update(plan="starter", max_stations=4)
    with schema_context(tenant.schema_name):
        StationFactory(identity="ALPHA-L")
    tenant_command("suspend", "bravo", "--reason", "test")

    lines = tenant_command("list").splitlines()

    assert lines[0].split() == ["slug", "name", "kind", "status", "plan", "stations", "users", "primary", "domain"]
    assert lines[1].split() == ["alpha", "Alpha", "Charge", "operator", "active", "starter", "1/4", "0/-"] + [
        "alpha.localhost"
    ]
    assert lines[2].split() == ["bravo", "Bravo", "Power", "operator", "suspended", "-", "0/-", "0/-"] + [
        "bravo.localhost"
    ]
    assert not any(line.startswith("platform") for line in lines)


@pytest.mark.django_db(transaction=True)
def test_export_outside_a_transaction_reads_one_read_only_snapshot(tenant, tmp_path):
    with schema_context(tenant.schema_name):
        StationFactory(identity="ALPHA-COMMITTED")
    path = tmp_path / "alpha.zip"

    tenant_command("export", "alpha", "--output", str(path))

    with zipfile.ZipFile(path) as archive:
        assert "ALPHA-COMMITTED" in archive.read("tables/stations_station.csv").decode()
    assert TenantEvent.objects.filter(tenant_slug="alpha", action="exported").exists()
