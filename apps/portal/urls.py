"""The branded portal on each brand's own hosts, under /portal/."""

from allauth.account.views import LogoutView
from django.urls import include, path

from apps.portal import api_usage, customers, faults, reports, sessions, statistics, tariffs, tokens, users, views

app_name = "portal"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("stations/", views.station_list, name="station_list"),
    path("stations/<int:station_id>/", views.station_detail, name="station_detail"),
    path("stations/<int:station_id>/commands/", views.station_command, name="station_command"),
    path("stations/<int:station_id>/stickers.pdf", views.station_stickers, name="station_stickers"),
    path("sessions/", sessions.session_list, name="session_list"),
    path("sessions/<int:session_id>/", sessions.session_detail, name="session_detail"),
    path("faults/", faults.fault_list, name="fault_list"),
    path("statistics/", statistics.statistics, name="statistics"),
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/<int:token_id>/status/", tokens.token_status, name="token_status"),
    path("tariffs/", tariffs.tariff_list, name="tariff_list"),
    path("tariffs/<str:code>/", tariffs.tariff_detail, name="tariff_detail"),
    path("reports/", reports.reports, name="reports"),
    path("api-usage/", api_usage.api_usage, name="api_usage"),
    # allauth's logout, as everywhere (docs/authentication.md): back to the brand's sign-in page.
    path("logout/", LogoutView.as_view(), name="logout"),
    path("users/", include(users.urlpatterns)),
    path("customers/", include(customers.urlpatterns)),
]
