"""OCPI 2.2.1 cdrs module (not built yet)."""

urlpatterns: list = []
