from importlib import import_module

from django.urls import include, path

from apps.roaming import views
from apps.roaming.modules import MODULE_NAMES

app_name = "roaming"

urlpatterns = [
    path("versions", views.versions, name="versions"),
    path("2.2.1/", views.version_221, name="version-2.2.1"),
    path("2.2.1/credentials", views.credentials, name="credentials"),
    *(path("2.2.1/", include(import_module(f"apps.roaming.modules.{name}").urlpatterns)) for name in MODULE_NAMES),
]
