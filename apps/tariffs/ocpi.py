"""A tariff as an OCPI 2.2.1 Tariff object and back, for roaming. The platform's idle-fee extensions (grace, cap)
have no OCPI field and are not exported: docs/tariffs.md says what partners see instead."""

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.tariffs.currencies import currency_is_known
from apps.tariffs.definition import elements_dump, elements_parse, number_parse
from apps.tariffs.exceptions import TariffInvalidError
from apps.tariffs.models import Tariff, alt_text_problems


def tariff_to_ocpi(tariff: Tariff, *, country_code: str = "", party_id: str = "") -> dict:
    """The OCPI Tariff object (numbers as Decimal, datetimes as datetime: the roaming edge renders them)."""
    out: dict = {}
    if country_code:
        out["country_code"] = country_code
    if party_id:
        out["party_id"] = party_id
    out["id"] = tariff.code
    out["currency"] = tariff.currency
    if tariff.type:
        out["type"] = tariff.type
    if tariff.tariff_alt_text:
        out["tariff_alt_text"] = list(tariff.tariff_alt_text)
    if tariff.tariff_alt_url:
        out["tariff_alt_url"] = tariff.tariff_alt_url
    for bound in ("min_price", "max_price"):
        excl = getattr(tariff, f"{bound}_excl_vat")
        if excl is not None:
            price = {"excl_vat": excl}
            incl = getattr(tariff, f"{bound}_incl_vat")
            if incl is not None:
                price["incl_vat"] = incl
            out[bound] = price
    out["elements"] = elements_dump(tariff.parsed_elements)
    if tariff.start_date_time:
        out["start_date_time"] = tariff.start_date_time
    if tariff.end_date_time:
        out["end_date_time"] = tariff.end_date_time
    out["last_updated"] = tariff.updated_at or timezone.now()
    return out


def tariff_from_ocpi(data: dict) -> dict:
    """Validated model fields from an OCPI Tariff object (`code` from its id), or TariffInvalidError naming every
    problem. Fields the platform does not keep (country_code, party_id, energy_mix, last_updated) are ignored."""
    errors: dict[str, list[str]] = {}

    def error(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    if not isinstance(data, dict):
        raise TariffInvalidError({"": ["An OCPI Tariff is an object."]})
    fields: dict = {}
    code = data.get("id")
    if not isinstance(code, str) or not 1 <= len(code) <= 36:
        error("id", "A string of 1 to 36 characters.")
    fields["code"] = code
    currency = data.get("currency")
    if not isinstance(currency, str) or not currency_is_known(currency):
        error("currency", f"{currency!r} is not an ISO 4217 currency code.")
    fields["currency"] = currency
    tariff_type = data.get("type") or ""
    if tariff_type and tariff_type not in Tariff.Type.values:
        error("type", f"One of {', '.join(Tariff.Type.values)}.")
    fields["type"] = tariff_type
    alt_text = data.get("tariff_alt_text") or []
    for problem in alt_text_problems(alt_text):
        error("tariff_alt_text", problem)
    fields["tariff_alt_text"] = alt_text
    fields["tariff_alt_url"] = data.get("tariff_alt_url") or ""
    for bound in ("min_price", "max_price"):
        price = data.get(bound)
        fields[f"{bound}_excl_vat"] = fields[f"{bound}_incl_vat"] = None
        if price is None:
            continue
        if not isinstance(price, dict) or "excl_vat" not in price:
            error(bound, "An OCPI Price: excl_vat and optional incl_vat.")
            continue
        for side in ("excl_vat", "incl_vat"):
            value = number_parse(price.get(side), f"{bound}.{side}", error, required=side == "excl_vat")
            if value is not None and value < 0:
                error(f"{bound}.{side}", "Cannot be negative.")
            fields[f"{bound}_{side}"] = value
    for side in ("excl_vat", "incl_vat"):
        low, high = fields.get(f"min_price_{side}"), fields.get(f"max_price_{side}")
        if low is not None and high is not None and low > high:
            error("max_price", f"{side} is below min_price's.")
    for name in ("start_date_time", "end_date_time"):
        fields[name] = _datetime(data.get(name), name, error)
    if fields["start_date_time"] and fields["end_date_time"] and fields["end_date_time"] <= fields["start_date_time"]:
        error("end_date_time", "Must be after start_date_time.")
    try:
        fields["elements"] = elements_dump(elements_parse(data.get("elements")))
    except TariffInvalidError as invalid:
        errors.update(invalid.errors)
    if errors:
        raise TariffInvalidError(errors)
    return fields


def _datetime(value, path: str, error) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        error(path, "An RFC 3339 date and time.")
        return None
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)
