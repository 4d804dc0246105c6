"""The branded portal on each brand's own hosts, under /portal/."""

from allauth.account.views import LogoutView
from django.urls import include, path

from apps.portal import users, views

app_name = "portal"

urlpatterns = [
    path("", views.overview, name="overview"),
    # allauth's logout, as everywhere (docs/authentication.md): back to the brand's sign-in page.
    path("logout/", LogoutView.as_view(), name="logout"),
    path("users/", include(users.urlpatterns)),
]
