"""Tenants (operator and reseller brands), their domains and branding; tenant resolution for HTTP, WebSocket and Celery."""
