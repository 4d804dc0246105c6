"""Errors of the white-label domain."""


class TenantError(Exception):
    """A tenant could not be created or changed as asked."""


class TemplateSchemaMissingError(TenantError):
    """The template schema that new tenants are cloned from does not exist: run `manage.py platform_migrate`."""


class TenantLimitReachedError(TenantError):
    """The brand already has as many stations (or users) as its plan allows."""


class NotAResellerError(TenantError):
    """Only a reseller brand has customer brands to create, list or change."""


class CustomerNotFoundError(TenantError):
    """The brand is not one of this reseller's customers (another reseller's, or no customer at all)."""
