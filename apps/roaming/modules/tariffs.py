"""OCPI 2.2.1 tariffs module (not built yet)."""

urlpatterns: list = []
