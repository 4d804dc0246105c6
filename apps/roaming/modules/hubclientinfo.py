"""OCPI 2.2.1 hubclientinfo module (not built yet)."""

urlpatterns: list = []
