"""URLs of the platform's own hosts (the public schema): the platform admin where tenants are managed."""

from django.urls import path

from apps.accounts.views import language_set
from apps.whitelabel.admin import platform_admin_site

urlpatterns = [
    path("admin/", platform_admin_site.urls),
    path("i18n/setlang/", language_set, name="set_language"),
]
