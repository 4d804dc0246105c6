"""URLs of every tenant's hosts: the operator admin, scoped to the tenant's schema."""

from allauth.account.views import LogoutView
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.accounts.views import AdminLoginView, language_set
from apps.api.oauth import oauth_server_metadata
from apps.commands.views import station_upload

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # One sign-in for everything: the admin's login and logout are allauth's, so the second factor applies there too.
    path("admin/login/", AdminLoginView.as_view(), name="admin-login"),
    path("admin/logout/", LogoutView.as_view(), name="admin-logout"),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("i18n/setlang/", language_set, name="set_language"),
    path("station-uploads/<str:token>", station_upload, name="station-upload"),
    path("billing/", include("apps.billing.urls")),
    path("portal/", include("apps.portal.urls")),
    path("app/", include("apps.pwa.urls")),
    path("api/v1/", include("apps.api.urls")),
    path("oauth/", include("apps.api.oauth_urls")),
    path("ocpi/", include("apps.roaming.urls")),
    # RFC 8414: at the origin's root, not under /oauth/.
    path(".well-known/oauth-authorization-server", oauth_server_metadata, name="oauth-server-metadata"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
