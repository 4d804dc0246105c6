from django.urls import path

from apps.roaming import views

app_name = "roaming"

urlpatterns = [
    path("versions", views.versions, name="versions"),
    path("2.2.1/", views.version_221, name="version-2.2.1"),
    path("2.2.1/credentials", views.credentials, name="credentials"),
]
