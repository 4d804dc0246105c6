"""URLs of the platform's own hosts (the public schema): the platform admin where tenants are managed."""

from allauth.account.views import LogoutView
from django.urls import include, path

from apps.accounts.views import AdminLoginView, language_set
from apps.whitelabel.admin import platform_admin_site

urlpatterns = [
    # Platform staff sign in through allauth too (sign-up is closed here: apps/accounts/adapters.py).
    path("admin/login/", AdminLoginView.as_view(), name="admin-login"),
    path("admin/logout/", LogoutView.as_view(), name="admin-logout"),
    path("admin/", platform_admin_site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("i18n/setlang/", language_set, name="set_language"),
]
