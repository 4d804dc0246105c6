"""What each role may do, as Django permission names with `*` wildcards ("app_label.codename").

Permissions are derived from the role in code rather than stored as groups per schema, so every
tenant has the same, current rules without a data migration each time they change.
"""

from fnmatch import fnmatchcase

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Administrator")
    OPERATOR = "operator", _("Operator")
    TECHNICIAN = "technician", _("Technician")
    FINANCE = "finance", _("Finance")
    SUPPORT = "support", _("Support")
    READ_ONLY = "read_only", _("Read-only")
    RESELLER_MANAGER = "reseller_manager", _("Reseller manager")
    DRIVER = "driver", _("Driver")


VIEW_ALL = "*.view_*"

# Permissions that are no model's (has_perm checks them by name; no Permission row is needed), named so that
# VIEW_ALL does not match them:
# drivers' names, emails and token ids unmasked in lists, exports and the reseller's customer views;
PERSONAL_DATA = "accounts.see_personal_data"
# a reseller's dashboards aggregated across its customer brands, and creating, suspending and resuming them.
CUSTOMERS_VIEW = "whitelabel.see_customers"
CUSTOMERS_MANAGE = "whitelabel.manage_customers"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset({"*"}),
    Role.ADMIN: frozenset({"*"}),
    Role.OPERATOR: frozenset(
        {
            VIEW_ALL,
            PERSONAL_DATA,
            "whitelabel.change_branding",
            "stations.*_location",
            "stations.*_station",
            "stations.*_evse",
            "stations.*_connector",
            "stations.change_networksettings",
            "stations.change_fault",
            "charging.*_idtoken",
            "commands.add_command",
            "groups.*_stationgroup",
            "tariffs.*_tariff",
            "tariffs.*_tariffassignment",
        }
    ),
    Role.TECHNICIAN: frozenset(
        {
            VIEW_ALL,
            "stations.change_station",
            "stations.change_connector",
            "stations.change_fault",
            "commands.add_command",
        }
    ),
    Role.FINANCE: frozenset(
        {
            VIEW_ALL,
            PERSONAL_DATA,
            "tariffs.*_tariff",
            "tariffs.*_tariffassignment",
            "billing.capture_payment",
            "billing.refund_payment",
            "billing.change_paymentaccount",
            "billing.*_plan",
            "billing.change_subscription",
            "billing.change_prepaidaccount",
            "billing.top_up_prepaidaccount",
        }
    ),
    Role.SUPPORT: frozenset({VIEW_ALL, PERSONAL_DATA, "charging.change_idtoken", "charging.add_idtoken"}),
    Role.READ_ONLY: frozenset({VIEW_ALL}),
    Role.RESELLER_MANAGER: frozenset({VIEW_ALL, CUSTOMERS_VIEW, CUSTOMERS_MANAGE}),
    # A driver's app (the API with a token the driver authorized) reads the brand's public network: where to charge
    # and at what price. Nothing of other people (sessions, tokens, users) and no admin or portal (not staff).
    Role.DRIVER: frozenset(
        {
            "stations.view_location",
            "stations.view_station",
            "stations.view_evse",
            "stations.view_connector",
            "tariffs.view_tariff",
        }
    ),
}

# Roles that use the operator admin.
STAFF_ROLES = frozenset(ROLE_PERMISSIONS) - {Role.DRIVER}


def role_allows(role: str, permission: str) -> bool:
    return any(fnmatchcase(permission, pattern) for pattern in ROLE_PERMISSIONS.get(role, ()))


# Roles that may give any role, owner and administrator included.
ROLE_GRANTING_ALL = frozenset({Role.OWNER, Role.ADMIN})


def role_grantable(granter, role: str) -> bool:
    """Whether `granter` (a user) may invite someone as `role` or change a user to it: owners and administrators give
    any role; others only a role whose rights are among their own, never owner or administrator."""
    if granter.is_superuser or granter.role in ROLE_GRANTING_ALL:
        return True
    if role in ROLE_GRANTING_ALL:
        return False
    own = ROLE_PERMISSIONS.get(granter.role, frozenset())
    return ROLE_PERMISSIONS.get(role, frozenset()) <= own
