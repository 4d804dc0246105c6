"""Amounts of money as integers in a currency's minor unit (cents, yen), the way both providers count them.

Floats never enter: an amount is an `int` of minor units, or a `Decimal` converted here with the currency's exponent.
"""

import re
from decimal import ROUND_HALF_UP, Decimal

from djstripe.settings import djstripe_settings

from apps.billing.exceptions import AmountError, CurrencyMismatchError

CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
# ISO 4217 currencies with three decimals (Adyen and Stripe agree on these); dj-stripe keeps the zero-decimal list.
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def currency_normalise(currency: str) -> str:
    code = (currency or "").strip().upper()
    if not CURRENCY_PATTERN.match(code):
        raise AmountError(f"{currency!r} is not an ISO 4217 currency code.")
    return code


def currency_exponent(currency: str) -> int:
    code = currency_normalise(currency)
    if code.lower() in djstripe_settings.ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def minor_units(amount: int) -> int:
    """`amount` checked as a non-negative whole number of minor units: floats and bools are refused, not rounded."""
    if type(amount) is not int:
        raise AmountError(f"Amounts are whole minor units (int), not {type(amount).__name__}: {amount!r}.")
    if amount < 0:
        raise AmountError(f"An amount cannot be negative ({amount}).")
    return amount


def to_minor_units(amount: Decimal, currency: str) -> int:
    """A Decimal in major units (12.34 EUR) as minor units (1234); half-up rounding of sub-minor digits."""
    if not isinstance(amount, Decimal):
        raise AmountError(f"Convert a Decimal, not {type(amount).__name__}: {amount!r}.")
    exponent = currency_exponent(currency)
    return minor_units(int((amount * (Decimal(10) ** exponent)).quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def from_minor_units(amount: int, currency: str) -> Decimal:
    exponent = currency_exponent(currency)
    return Decimal(minor_units(amount)).scaleb(-exponent)


def currency_check(expected: str, given: str) -> None:
    """Refuse an amount in another currency than the payment's: they are never converted or added up."""
    if currency_normalise(given) != currency_normalise(expected):
        raise CurrencyMismatchError(f"The payment is in {expected}; an amount in {given} is refused.")


def amount_format(amount: int, currency: str) -> str:
    return f"{from_minor_units(amount, currency)} {currency}"
