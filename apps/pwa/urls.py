"""The driver app (a PWA) on each brand's own hosts, under /app/."""

from django.urls import path, re_path

from apps.pwa import views

app_name = "pwa"

urlpatterns = [
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="sw"),
    path("icons/<int:size>.png", views.icon, name="icon"),
    # Every page of the app is the same shell; the app's router draws the page of the path.
    path("", views.shell, name="home"),
    re_path(r"^e/(?P<code>[^/]+)/?$", views.shell, name="evse"),
    path("locations/<int:location_id>", views.shell, name="location"),
    path("sessions/<str:session_id>", views.shell, name="session"),
    path("history", views.shell, name="history"),
    path("account", views.shell, name="account"),
    path("callback", views.shell, name="callback"),
    path("guest", views.shell, name="guest"),
]
