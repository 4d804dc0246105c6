from django.urls import path

from apps.roaming import views

app_name = "roaming"

urlpatterns = [
    path("versions", views.versions, name="versions"),
    path("2.2.1/", views.version_221, name="version-2.2.1"),
    path("2.2.1/credentials", views.credentials, name="credentials"),
    path("2.2.1/locations", views.locations, name="locations"),
    path("2.2.1/locations/<str:location_id>", views.locations, name="location"),
    path("2.2.1/locations/<str:location_id>/<str:evse_uid>", views.locations, name="evse"),
    path("2.2.1/locations/<str:location_id>/<str:evse_uid>/<str:connector_id>", views.locations, name="connector"),
]
