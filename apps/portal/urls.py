"""The branded portal on each brand's own hosts, under /portal/."""

from django.contrib.auth.views import LogoutView
from django.urls import include, path

from apps.portal import customers, views

app_name = "portal"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("customers/", include(customers.urlpatterns)),
    path("logout/", LogoutView.as_view(next_page="portal:overview"), name="logout"),
]
