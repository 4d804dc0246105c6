"""OCPI 2.2.1 tokens module (not built yet)."""

urlpatterns: list = []
