"""What each staff role may do with prices and money, as the admin and later the API check it."""

import pytest

from apps.accounts.roles import Role, role_allows


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        (Role.FINANCE, "billing.refund_payment", True),
        (Role.FINANCE, "billing.capture_payment", True),
        (Role.FINANCE, "tariffs.change_tariff", True),
        (Role.FINANCE, "stations.change_station", False),
        (Role.OPERATOR, "tariffs.add_tariff", True),
        (Role.OPERATOR, "tariffs.change_tariffassignment", True),
        (Role.OPERATOR, "billing.refund_payment", False),
        (Role.SUPPORT, "billing.refund_payment", False),
        (Role.READ_ONLY, "billing.view_payment", True),
        (Role.READ_ONLY, "tariffs.change_tariff", False),
        (Role.DRIVER, "billing.view_payment", False),
    ],
)
def test_money_and_price_permissions_follow_the_role(role, permission, allowed):
    assert role_allows(role, permission) is allowed
