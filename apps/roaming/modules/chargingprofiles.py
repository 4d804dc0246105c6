"""OCPI 2.2.1 chargingprofiles module (not built yet)."""

urlpatterns: list = []
