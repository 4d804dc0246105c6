"""OCPP-J frames: parsing, the CALLERROR each kind of bad input gets, and schema validation of CALL payloads.

The `ocpp` library drops some malformed frames without answering (non-JSON, a CALL without payload, an unknown
MessageTypeId) and validates in a thread pool per message. This module answers every bad frame with the error code
the protocol version defines and validates synchronously with the library's cached JSON-schema validators.
"""

import enum
import functools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastjsonschema
import ocpp
from jsonschema import validators as jsonschema_validators
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.exceptions import best_match
from ocpp.messages import MessageType, get_validator

OCPP16 = "ocpp1.6"
OCPP201 = "ocpp2.0.1"
# In order of preference when a station offers both.
SUPPORTED_PROTOCOLS = (OCPP201, OCPP16)
# The `ocpp` library's name for each protocol's schema set.
SCHEMA_VERSIONS = {OCPP16: "1.6", OCPP201: "2.0.1"}

# OCPP-J: a message id is at most 36 characters; the error description at most 255.
MAX_MESSAGE_ID_LENGTH = 36
MAX_ERROR_DESCRIPTION_LENGTH = 255
# OCPP-J 2.0.1: the message id of a CALLERROR answering a frame whose id could not be read.
UNREADABLE_MESSAGE_ID = "-1"


class ErrorKind(enum.Enum):
    """What went wrong, independent of how each protocol version spells it."""

    FORMAT = "format"  # syntactically incorrect payload, or a property the schema does not allow
    PROTOCOL = "protocol"  # payload missing or incomplete
    RPC_FRAMEWORK = "rpc_framework"  # not an RPC frame at all: not JSON, not an array, unreadable message id
    MESSAGE_TYPE = "message_type"  # MessageTypeId other than 2, 3, 4
    TYPE_CONSTRAINT = "type_constraint"
    PROPERTY_CONSTRAINT = "property_constraint"
    OCCURRENCE_CONSTRAINT = "occurrence_constraint"
    NOT_IMPLEMENTED = "not_implemented"  # action unknown to the protocol
    NOT_SUPPORTED = "not_supported"  # action known but not handled here
    SECURITY = "security"
    INTERNAL = "internal"
    GENERIC = "generic"


# OCPP-J 1.6 §4.2.3 and OCPP-J 2.0.1 §4.3 (Table "Valid Error Codes"). 1.6 has neither RpcFrameworkError nor
# MessageTypeNotSupported: frames that are not RPC frames at all get FormationViolation there. The spellings
# FormationViolation and OccurenceConstraintViolation are the 1.6 specification's own (kept by its errata).
ERROR_CODES: dict[str, dict[ErrorKind, str]] = {
    OCPP16: {
        ErrorKind.FORMAT: "FormationViolation",
        ErrorKind.PROTOCOL: "ProtocolError",
        ErrorKind.RPC_FRAMEWORK: "FormationViolation",
        ErrorKind.MESSAGE_TYPE: "FormationViolation",
        ErrorKind.TYPE_CONSTRAINT: "TypeConstraintViolation",
        ErrorKind.PROPERTY_CONSTRAINT: "PropertyConstraintViolation",
        ErrorKind.OCCURRENCE_CONSTRAINT: "OccurenceConstraintViolation",
        ErrorKind.NOT_IMPLEMENTED: "NotImplemented",
        ErrorKind.NOT_SUPPORTED: "NotSupported",
        ErrorKind.SECURITY: "SecurityError",
        ErrorKind.INTERNAL: "InternalError",
        ErrorKind.GENERIC: "GenericError",
    },
    OCPP201: {
        ErrorKind.FORMAT: "FormatViolation",
        ErrorKind.PROTOCOL: "ProtocolError",
        ErrorKind.RPC_FRAMEWORK: "RpcFrameworkError",
        ErrorKind.MESSAGE_TYPE: "MessageTypeNotSupported",
        ErrorKind.TYPE_CONSTRAINT: "TypeConstraintViolation",
        ErrorKind.PROPERTY_CONSTRAINT: "PropertyConstraintViolation",
        ErrorKind.OCCURRENCE_CONSTRAINT: "OccurrenceConstraintViolation",
        ErrorKind.NOT_IMPLEMENTED: "NotImplemented",
        ErrorKind.NOT_SUPPORTED: "NotSupported",
        ErrorKind.SECURITY: "SecurityError",
        ErrorKind.INTERNAL: "InternalError",
        ErrorKind.GENERIC: "GenericError",
    },
}

# JSON-schema keyword of the first violation → the kind of error it is.
SCHEMA_ERROR_KINDS = {
    "type": ErrorKind.TYPE_CONSTRAINT,
    "maxLength": ErrorKind.TYPE_CONSTRAINT,  # CiString20Type and friends: the length is part of the type
    "minLength": ErrorKind.TYPE_CONSTRAINT,
    "format": ErrorKind.TYPE_CONSTRAINT,
    "required": ErrorKind.OCCURRENCE_CONSTRAINT,
    "minItems": ErrorKind.OCCURRENCE_CONSTRAINT,
    "maxItems": ErrorKind.OCCURRENCE_CONSTRAINT,
    "additionalProperties": ErrorKind.FORMAT,
    "enum": ErrorKind.PROPERTY_CONSTRAINT,
    "pattern": ErrorKind.PROPERTY_CONSTRAINT,
    "minimum": ErrorKind.PROPERTY_CONSTRAINT,
    "maximum": ErrorKind.PROPERTY_CONSTRAINT,
    "multipleOf": ErrorKind.PROPERTY_CONSTRAINT,
}

# The id of a CALL, read from the start of a frame too large to parse, so its CALLERROR can still be matched.
_LEADING_CALL_ID = re.compile(r'^\s*\[\s*[234]\s*,\s*"([^"\\]{0,36})"')


class RpcError(Exception):
    """A frame or payload that gets a CALLERROR (or, for a broken answer of the station, only a log line)."""

    def __init__(self, kind: ErrorKind, description: str, *, message_id: str | None = None, answer: bool = True):
        super().__init__(description)
        self.kind = kind
        self.description = description[:MAX_ERROR_DESCRIPTION_LENGTH]
        self.message_id = message_id
        self.answer = answer

    def code(self, protocol: str) -> str:
        return ERROR_CODES[protocol][self.kind]


@dataclass(frozen=True)
class Call:
    message_id: str
    action: str
    payload: dict
    type_id: int = field(default=MessageType.Call, init=False)


@dataclass(frozen=True)
class CallResult:
    message_id: str
    payload: dict
    type_id: int = field(default=MessageType.CallResult, init=False)


@dataclass(frozen=True)
class CallError:
    message_id: str
    error_code: str
    description: str
    details: dict
    type_id: int = field(default=MessageType.CallError, init=False)


Frame = Call | CallResult | CallError


def frame_size_exceeds(text: str, max_bytes: int) -> bool:
    """Whether the UTF-8 encoding of `text` is longer than `max_bytes`, encoding only when it could be."""
    if len(text) > max_bytes:
        return True
    return len(text) * 4 > max_bytes and len(text.encode()) > max_bytes


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def parse_frame(text: str, *, max_bytes: int) -> Frame:
    """The frame in `text`, or RpcError saying what is wrong with it and which message id to answer."""
    if frame_size_exceeds(text, max_bytes):
        match = _LEADING_CALL_ID.match(text[:128])
        raise RpcError(
            ErrorKind.FORMAT,
            f"Frame exceeds the limit of {max_bytes} bytes",
            message_id=match[1] if match else UNREADABLE_MESSAGE_ID,
        )
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise RpcError(ErrorKind.RPC_FRAMEWORK, "Frame is not valid JSON", message_id=UNREADABLE_MESSAGE_ID) from None
    if not isinstance(data, list) or not data:
        raise RpcError(ErrorKind.RPC_FRAMEWORK, "Frame is not a non-empty JSON array", message_id=UNREADABLE_MESSAGE_ID)

    type_id = data[0]
    message_id = data[1] if len(data) > 1 and isinstance(data[1], str) else None
    if type(type_id) is not int or type_id not in (MessageType.Call, MessageType.CallResult, MessageType.CallError):
        raise RpcError(
            ErrorKind.MESSAGE_TYPE,
            f"MessageTypeId {type_id!r} is not supported (2 CALL, 3 CALLRESULT, 4 CALLERROR)",
            message_id=message_id if message_id is not None else UNREADABLE_MESSAGE_ID,
        )
    if message_id is None:
        raise RpcError(ErrorKind.RPC_FRAMEWORK, "Message id is not a string", message_id=UNREADABLE_MESSAGE_ID)
    if len(message_id) > MAX_MESSAGE_ID_LENGTH:
        raise RpcError(
            ErrorKind.RPC_FRAMEWORK,
            f"Message id is longer than {MAX_MESSAGE_ID_LENGTH} characters",
            message_id=message_id,
        )

    if type_id == MessageType.Call:
        return _parse_call(data, message_id)
    if type_id == MessageType.CallResult:
        if len(data) != 3 or not isinstance(data[2], dict):
            raise RpcError(
                ErrorKind.RPC_FRAMEWORK,
                "CALLRESULT is not [3, id, {payload}]",
                message_id=message_id,
                answer=False,
            )
        return CallResult(message_id, data[2])
    # Some stations leave out the empty errorDetails object: accepted, it carries nothing.
    details = data[4] if len(data) == 5 else {}
    if len(data) not in (4, 5) or not isinstance(data[2], str) or not isinstance(data[3], str):
        raise RpcError(
            ErrorKind.RPC_FRAMEWORK,
            "CALLERROR is not [4, id, code, description, {details}]",
            message_id=message_id,
            answer=False,
        )
    return CallError(message_id, data[2], data[3], details if isinstance(details, dict) else {"details": details})


def _parse_call(data: list, message_id: str) -> Call:
    if len(data) == 3 and isinstance(data[2], str):
        raise RpcError(ErrorKind.PROTOCOL, f"CALL {data[2]} has no payload", message_id=message_id)
    if len(data) != 4:
        raise RpcError(ErrorKind.RPC_FRAMEWORK, "CALL is not [2, id, action, {payload}]", message_id=message_id)
    action, payload = data[2], data[3]
    if not isinstance(action, str) or not action:
        raise RpcError(ErrorKind.RPC_FRAMEWORK, "CALL action is not a string", message_id=message_id)
    if not isinstance(payload, dict):
        raise RpcError(ErrorKind.FORMAT, f"CALL {action} payload is not a JSON object", message_id=message_id)
    return Call(message_id, action, payload)


def _schema_actions(schema_version: str) -> frozenset[str]:
    """The CALL actions the protocol defines, in either direction, from the library's schema files."""
    directory = Path(ocpp.__file__).parent / f"v{schema_version.replace('.', '')}" / "schemas"
    names = [path.stem for path in directory.glob("*.json")]
    if schema_version == "1.6":
        return frozenset(name for name in names if not name.endswith("Response"))
    return frozenset(name.removesuffix("Request") for name in names if name.endswith("Request"))


KNOWN_ACTIONS = {protocol: _schema_actions(version) for protocol, version in SCHEMA_VERSIONS.items()}


def _path(error: SchemaError) -> str:
    parts = []
    for part in error.absolute_path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}" if parts else str(part))
    return "".join(parts)


def _decimal_multiple_of(validator, divisor, instance, schema):
    """multipleOf in decimal arithmetic: in binary floating point 3.3 is not a multiple of 0.1, and a station's
    limit of 3.3 A must not be refused for it (OCPP 1.6 limits are multiples of 0.1)."""
    if validator.is_type(instance, "number") and Decimal(str(instance)) % Decimal(str(divisor)) != 0:
        yield SchemaError(f"{instance!r} is not a multiple of {divisor}")


@functools.cache
def _validator(message_type: int, action: str, schema_version: str):
    """The `ocpp` library's validator for the official schema, with multipleOf done in decimal."""
    base = get_validator(message_type, action, schema_version)
    decimal_class = jsonschema_validators.extend(type(base), {"multipleOf": _decimal_multiple_of})
    return decimal_class(base.schema, format_checker=base.format_checker)


DRAFT_4 = "http://json-schema.org/draft-04/schema#"


@functools.cache
def _fast_validator(message_type: int, action: str, schema_version: str) -> Callable[[Any], Any]:
    """The same schema compiled to Python code by fastjsonschema: 5 µs for a MeterValues instead of 130-290.

    Used only to let a payload through: anything it refuses goes to the jsonschema validator, which gives the
    verdict and the error (it also judges multipleOf in decimal, where this one may wrongly refuse). Compiled
    with draft 4 rules for both versions, as the `ocpp` library validates (1.0 is then not an integer)."""
    schema = {**_validator(message_type, action, schema_version).schema, "$schema": DRAFT_4}
    return fastjsonschema.compile(schema, use_default=False, use_formats=False)


def validate_call_payload(protocol: str, action: str, payload: dict, message_type: int = MessageType.Call) -> None:
    """Check `payload` against the official JSON schema of `action` (its request, or with
    `message_type=CallResult` its response); RpcError with the first violation."""
    schema_version = SCHEMA_VERSIONS[protocol]
    try:
        _fast_validator(message_type, action, schema_version)(payload)
        return
    except fastjsonschema.JsonSchemaException:
        pass
    validator = _validator(message_type, action, schema_version)
    error = best_match(validator.iter_errors(payload))
    if error is None:
        return
    kind = SCHEMA_ERROR_KINDS.get(error.validator, ErrorKind.FORMAT)
    where = _path(error)
    raise RpcError(kind, f"{action}: {where + ': ' if where else ''}{error.message}")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def call_result_text(message_id: str, payload: dict) -> str:
    return _dumps([MessageType.CallResult, message_id, payload])


def call_text(message_id: str, action: str, payload: dict) -> str:
    return _dumps([MessageType.Call, message_id, action, payload])


def call_error_text(message_id: str, code: str, description: str, details: dict | None = None) -> str:
    return _dumps([MessageType.CallError, message_id, code, description, details or {}])


class TokenBucket:
    """Flood protection per connection: `rate` CALLs per second on average, `burst` at once."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.updated = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
