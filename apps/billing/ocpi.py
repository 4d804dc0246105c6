"""CDRs in OCPI 2.2.1 terms: the canonical JSON a CDR is stored and hashed as, and the vocabulary mappings (token
types, countries, signed meter data). Pure functions, no database."""

import hashlib
import json
from datetime import UTC, date, datetime, time
from decimal import Decimal

# ISO 3166-1 alpha-2 -> alpha-3 (OCPI's cdr_location.country is alpha-3). Europe and the other usual markets.
COUNTRY_ALPHA3 = {
    "AT": "AUT", "AU": "AUS", "BE": "BEL", "BG": "BGR", "BR": "BRA", "CA": "CAN", "CH": "CHE", "CN": "CHN",
    "CY": "CYP", "CZ": "CZE", "DE": "DEU", "DK": "DNK", "EE": "EST", "ES": "ESP", "FI": "FIN", "FR": "FRA",
    "GB": "GBR", "GR": "GRC", "HR": "HRV", "HU": "HUN", "IE": "IRL", "IN": "IND", "IS": "ISL", "IT": "ITA",
    "JP": "JPN", "KR": "KOR", "LI": "LIE", "LT": "LTU", "LU": "LUX", "LV": "LVA", "MT": "MLT", "MX": "MEX",
    "NL": "NLD", "NO": "NOR", "NZ": "NZL", "PL": "POL", "PT": "PRT", "RO": "ROU", "RS": "SRB", "SE": "SWE",
    "SG": "SGP", "SI": "SVN", "SK": "SVK", "TR": "TUR", "UA": "UKR", "US": "USA", "ZA": "ZAF",
}  # fmt: skip

# OCPP 2.0.1 IdTokenEnumType -> OCPI TokenType.
TOKEN_TYPES = {
    "ISO14443": "RFID",
    "ISO15693": "RFID",
    "Central": "APP_USER",
    "NoAuthorization": "AD_HOC_USER",
}

# OCPP reading contexts -> OCPI SignedValue nature.
SIGNED_NATURE = {"Transaction.Begin": "Start", "Transaction.End": "End"}

# What an OCPI CDR must carry (2.2.1, section 10.4.1).
REQUIRED_FIELDS = (
    "country_code",
    "party_id",
    "id",
    "start_date_time",
    "end_date_time",
    "cdr_token",
    "auth_method",
    "cdr_location",
    "currency",
    "charging_periods",
    "total_cost",
    "total_energy",
    "total_time",
    "last_updated",
)


def ocpi_datetime(moment: datetime) -> str:
    """OCPI DateTime: UTC, 'Z', at most second precision as written by most partners."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def canonical_json(value) -> str:
    """One text per value: sorted keys, no whitespace, Decimals as exact JSON numbers (trailing zeros dropped),
    datetimes as OCPI DateTimes. Floats are refused: money never passes through one."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"Not a number: {value!r}")
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return json.dumps(ocpi_datetime(value))
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    if isinstance(value, time):
        return json.dumps(value.strftime("%H:%M"))
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{canonical_json(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    raise TypeError(f"{type(value).__name__} has no canonical JSON form: {value!r}")


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def price(excl_vat: Decimal, incl_vat: Decimal | None = None) -> dict:
    out = {"excl_vat": excl_vat}
    if incl_vat is not None:
        out["incl_vat"] = incl_vat
    return out


def negated(value):
    """A CDR's amounts with the sign flipped (for a credit CDR): every `excl_vat`/`incl_vat` in a Price."""
    if isinstance(value, dict):
        return {
            key: (-item if key in ("excl_vat", "incl_vat") and isinstance(item, Decimal) else negated(item))
            for key, item in value.items()
        }
    return value


def signed_data(samples: list[tuple[str, str, str]]) -> dict | None:
    """OCPI SignedData from (context, value as sent, signed data) of the samples that carried a signature."""
    values = [
        {"nature": SIGNED_NATURE.get(context, "Intermediate"), "plain_data": plain[:512], "signed_data": signed[:5000]}
        for context, plain, signed in samples
        if signed
    ]
    if not values:
        return None
    method = "OCMF" if values[0]["signed_data"].startswith("OCMF|") else "OCPP"
    return {"encoding_method": method, "signed_values": values}
