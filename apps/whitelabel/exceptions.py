"""Errors of the white-label domain."""


class TenantError(Exception):
    """A tenant could not be created or changed as asked."""


class TemplateSchemaMissingError(TenantError):
    """The template schema that new tenants are cloned from does not exist: run `manage.py platform_migrate`."""


class TenantLimitReachedError(TenantError):
    """The brand already has as many stations (or users) as its plan allows."""
