"""OCPI 2.2.1 commands module (not built yet)."""

urlpatterns: list = []
