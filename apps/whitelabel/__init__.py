"""Tenants (operator and reseller brands), domains and branding; tenant resolution for HTTP, WebSocket, Celery."""
