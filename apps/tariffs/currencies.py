"""ISO 4217 currency codes in circulation, with their minor units: what a tariff may be priced in, and how amounts
in it are rounded."""

# Codes with a minor unit other than 2 are listed in ZERO and THREE; every other code has cents.
_TWO = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CNY COP
CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR
JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN
NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP
SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWG
"""
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"

MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
}


def currency_is_known(code: str) -> bool:
    return code in MINOR_UNITS


def minor_units(code: str) -> int:
    """Decimal places of `code` (2 for a code not listed, which validation refuses anyway)."""
    return MINOR_UNITS.get(code, 2)


# Symbols shown before the amount; other currencies are written with their code ("CHF 0.39").
SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥", "INR": "₹", "KRW": "₩", "ILS": "₪", "TRY": "₺"}


def money_display(amount, code: str, *, decimal_places: int | None = None) -> str:
    """An amount for people, in the active language's number format: "€0.39", "CHF 1.00". At least the currency's
    minor units; more only when the amount has them (a price per kWh of 0.3925)."""
    from django.utils.formats import number_format

    places = minor_units(code)
    if decimal_places is None:
        exponent = -amount.normalize().as_tuple().exponent
        decimal_places = max(places, exponent)
    number = number_format(amount, decimal_pos=decimal_places, use_l10n=True)
    symbol = SYMBOLS.get(code)
    return f"{symbol}{number}" if symbol else f"{code} {number}"
