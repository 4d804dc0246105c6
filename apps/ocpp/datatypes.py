"""OCPP wire values ↔ Python values: dateTime strings, numbers sent as JSON numbers (2.0.1) or strings (1.6)."""

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from apps.ocpp.framing import ErrorKind, RpcError


def parse_timestamp(value: str, field: str) -> datetime:
    """An aware UTC datetime. OCPP requires UTC with Z; an offset is converted, a missing zone taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise RpcError(ErrorKind.TYPE_CONSTRAINT, f"{field}: {value!r} is not an ISO 8601 dateTime") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def optional_timestamp(value: str | None, field: str) -> datetime | None:
    return None if value is None else parse_timestamp(value, field)


def format_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with millisecond precision and a Z, the form every OCPP schema and tool accepts."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_decimal(value: int | float | str, field: str) -> Decimal:
    """A Decimal from a JSON number or a numeric string, without binary float noise (0.1 stays 0.1)."""
    if isinstance(value, bool):
        raise RpcError(ErrorKind.TYPE_CONSTRAINT, f"{field}: {value!r} is not a number")
    try:
        number = Decimal(str(value).strip()) if isinstance(value, float | str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise RpcError(ErrorKind.TYPE_CONSTRAINT, f"{field}: {value!r} is not a number") from None
    if not number.is_finite():
        raise RpcError(ErrorKind.TYPE_CONSTRAINT, f"{field}: {value!r} is not a finite number")
    return number


# Both versions' schemas default `unit` to Wh whatever the measurand; read literally that makes an unlabelled
# Power.Active.Import "Wh". A missing unit is therefore taken as the measurand's own base unit.
_DEFAULT_UNITS = (
    ("Energy.Reactive", "varh"),
    ("Energy", "Wh"),
    ("Power.Reactive", "var"),
    ("Power.Factor", ""),
    ("Power", "W"),
    ("Current", "A"),
    ("Voltage", "V"),
    ("SoC", "Percent"),
    ("Temperature", "Celsius"),
)


def default_unit(measurand: str) -> str:
    for prefix, unit in _DEFAULT_UNITS:
        if measurand.startswith(prefix):
            return unit
    return ""
