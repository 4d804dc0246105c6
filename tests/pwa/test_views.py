"""The driver app's server side: the shell of every route, the manifest and icons per brand, the service worker."""

import io
import json

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django_tenants.utils import schema_context
from oauth2_provider.models import Application
from PIL import Image

from apps.whitelabel.models import Branding
from tests.billing.factories import StripeAccountFactory

ROUTES = [
    "/app/",
    "/app/e/ALPHA*ALPHA-01*1",
    "/app/e/ALPHA%2AALPHA-01%2A1",
    "/app/locations/12",
    "/app/sessions/34",
    "/app/sessions/current",
    "/app/history",
    "/app/account",
    "/app/callback?code=abc&state=xyz",
    "/app/guest?evse=ALPHA*ALPHA-01*1",
]


def brand_client(tenant) -> Client:
    return Client(HTTP_HOST=tenant.domains.first().domain)


@pytest.fixture
def two_brands(tenant, outsider):
    Branding.objects.filter(tenant=tenant).update(display_name="Alpha Charge", primary_colour="#123456")
    Branding.objects.filter(tenant=outsider).update(display_name="Bravo Power", primary_colour="#abcdef")
    return tenant, outsider


def sw_config(body: str) -> dict:
    start = body.index("const CONFIG = ") + len("const CONFIG = ")
    return json.loads(body[start : body.index(";\n", start)])


def app_config(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="app-config" type="application/json">') + len(
        '<script id="app-config" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES)
def test_every_route_of_the_app_is_the_shell_in_the_brands_look(two_brands, route):
    tenant, _ = two_brands
    response = brand_client(tenant).get(route)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Alpha Charge</title>" in html
    assert "--brand: #123456" in html
    assert '<link rel="manifest" href="/app/manifest.webmanifest">' in html
    assert 'src="/static/pwa/app.js"' in html
    assert 'href="/app/history"' in html and 'href="/app/account"' in html
    # Always fresh from the network: the service worker keeps its own copy for offline use.
    assert response["Cache-Control"] == "no-cache"


@pytest.mark.django_db
def test_the_shell_hands_the_app_its_configuration_and_texts(two_brands):
    tenant, _ = two_brands
    config = app_config(brand_client(tenant).get("/app/"))
    assert config["brand"] == "Alpha Charge"
    assert config["code_example"] == "ALPHA*STATION*1"
    assert config["authorize_url"] == "/oauth/authorize/"
    assert config["token_url"] == "/oauth/token/"
    assert config["signup_url"] == "/accounts/signup/"
    assert "me:write" in config["scopes"].split()
    assert config["text"]["start"] == "Start charging"
    assert ["IEC_62196_T2_COMBO", "CCS2"] in config["connector_types"]


@pytest.mark.django_db
def test_the_shell_tells_guests_how_the_brand_takes_cards(two_brands):
    alpha, bravo = two_brands
    with schema_context(alpha.schema_name):
        StripeAccountFactory(offline_sandbox=True, secret_key="sk_test_offline_sandbox")

    # Alpha's sandbox takes Stripe's test cards; Bravo takes no payments in the app, so guests can't charge there.
    assert app_config(brand_client(alpha).get("/app/guest"))["payments"] == {
        "provider": "stripe",
        "publishable_key": "",
        "sandbox": True,
    }
    assert app_config(brand_client(bravo).get("/app/guest"))["payments"]["provider"] is None


@pytest.mark.django_db
def test_the_shell_speaks_the_brands_language(tenant):
    tenant.default_locale = "de"
    tenant.save(update_fields=["default_locale"])
    response = brand_client(tenant).get("/app/")
    assert '<html lang="de">' in response.content.decode()
    html = response.content.decode()
    assert "Zum Inhalt springen" in html
    # The app's texts are translated the same way (their catalogue entries come with `make messages`).
    assert app_config(response)["text"]["account"] == "Konto"
    assert app_config(response)["language"] == "de"


@pytest.mark.django_db
def test_a_path_outside_the_app_routes_is_not_found(tenant):
    client = brand_client(tenant)
    assert client.get("/app/nowhere").status_code == 404
    assert client.get("/app/locations/not-a-number").status_code == 404


@pytest.mark.django_db
def test_the_shell_refuses_writes(tenant):
    assert brand_client(tenant).post("/app/").status_code == 405


@pytest.mark.django_db
def test_each_brand_has_its_own_manifest(two_brands):
    tenant, outsider = two_brands
    alpha = brand_client(tenant).get("/app/manifest.webmanifest")
    bravo = brand_client(outsider).get("/app/manifest.webmanifest")
    assert alpha.status_code == bravo.status_code == 200
    assert alpha["Content-Type"] == "application/manifest+json"
    alpha, bravo = alpha.json(), bravo.json()
    assert (alpha["name"], alpha["theme_color"]) == ("Alpha Charge", "#123456")
    assert (bravo["name"], bravo["theme_color"]) == ("Bravo Power", "#abcdef")
    assert alpha["short_name"] and len(alpha["short_name"]) <= 12
    for document in (alpha, bravo):
        assert document["start_url"] == "/app/"
        assert document["scope"] == "/app/"
        assert document["id"] == "/app/"
        assert document["display"] == "standalone"
        assert document["lang"] == "en"
        assert document["background_color"]
        sizes = {(icon["sizes"], icon["purpose"]) for icon in document["icons"]}
        assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes


@pytest.mark.django_db
@pytest.mark.parametrize("size", [192, 512])
def test_icons_are_pngs_of_the_declared_size_in_the_brands_colour(two_brands, size):
    tenant, outsider = two_brands
    response = brand_client(tenant).get(f"/app/icons/{size}.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "max-age=86400" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    assert image.size == (size, size)
    # Full bleed in the brand's primary colour (so it also works as a maskable icon), initials in the middle.
    assert image.convert("RGB").getpixel((2, 2)) == (0x12, 0x34, 0x56)
    assert len(image.convert("RGB").getcolors(1 << 20)) > 1
    bravo = Image.open(io.BytesIO(brand_client(outsider).get(f"/app/icons/{size}.png").content))
    assert bravo.convert("RGB").getpixel((2, 2)) == (0xAB, 0xCD, 0xEF)


@pytest.mark.django_db
def test_the_icon_is_the_brands_logo_when_it_has_one(tenant):
    logo = io.BytesIO()
    Image.new("RGB", (64, 32), (255, 0, 0)).save(logo, format="PNG")
    branding = Branding.objects.get(tenant=tenant)
    branding.primary_colour = "#000000"
    branding.logo.save("logo.png", ContentFile(logo.getvalue()), save=True)
    image = Image.open(io.BytesIO(brand_client(tenant).get("/app/icons/512.png").content)).convert("RGB")
    assert image.getpixel((256, 256)) == (255, 0, 0)
    assert image.getpixel((5, 5)) == (0, 0, 0)


@pytest.mark.django_db
def test_only_the_declared_icon_sizes_exist(tenant):
    assert brand_client(tenant).get("/app/icons/64.png").status_code == 404


@pytest.mark.django_db
def test_the_service_worker_is_served_from_the_app_with_its_scope_and_never_cached(tenant):
    response = brand_client(tenant).get("/app/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/app/"
    assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]
    body = response.content.decode()
    config = sw_config(body)
    assert config["shell"] == "/app/"
    assert "/static/pwa/app.js" in config["assets"]
    assert "/static/portal/vendor/leaflet/leaflet.js" in config["assets"]
    assert "/app/manifest.webmanifest" in config["assets"]
    for handler in ('"install"', '"activate"', '"fetch"', '"push"', '"notificationclick"'):
        assert f"addEventListener({handler}" in body


@pytest.mark.django_db
def test_a_new_look_of_the_brand_is_a_new_service_worker_version(tenant):
    def version() -> str:
        return sw_config(brand_client(tenant).get("/app/sw.js").content.decode())["version"]

    before = version()
    Branding.objects.filter(tenant=tenant).update(primary_colour="#654321")
    assert version() != before


@pytest.mark.django_db
def test_the_shell_names_the_brands_driver_app_client_and_registers_its_origin(tenant):
    config = app_config(Client(HTTP_HOST="alpha.localhost:8123").get("/app/"))
    assert config["client_id"] == "driver-app"
    with schema_context(tenant.schema_name):
        application = Application.objects.get(client_id="driver-app")
        assert "http://alpha.localhost:8123/app/callback" in application.redirect_uris.split()
        application.delete()
    # Deleted meanwhile: the next page load makes it again.
    assert app_config(Client(HTTP_HOST="alpha.localhost:8123").get("/app/"))["client_id"] == "driver-app"
    with schema_context(tenant.schema_name):
        assert Application.objects.filter(client_id="driver-app").exists()
