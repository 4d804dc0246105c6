"""The OCPP edge: which proxy headers to trust, how TLS is recognised, and per-connection flood limits."""

from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_str


def _env_ports(name: str) -> list[int]:
    values = env_list(name, [])
    if not all(value.isdigit() and 0 < int(value) < 65536 for value in values):
        raise ImproperlyConfigured(f"{name} must be a comma-separated list of port numbers, not {values!r}.")
    return [int(value) for value in values]


def _env_positive_int(name: str, default: int) -> int:
    value = env_int(name, default)
    if value < 1:
        raise ImproperlyConfigured(f"{name}={value} must be at least 1.")
    return value


# Only behind a TLS-terminating proxy that overwrites these headers: a charger talking to daphne directly could
# otherwise claim TLS (X-Forwarded-Proto) or a client certificate it does not hold.
OCPP_TRUST_PROXY_HEADERS = env_bool("OCPP_TRUST_PROXY_HEADERS", False)
# The header in which that proxy forwards the identity of a client certificate it verified (security profile 3).
OCPP_CLIENT_CERT_HEADER = env_str("OCPP_CLIENT_CERT_HEADER", "X-Client-Cert-CN")
# Ports of daphne's own TLS endpoints (`-e ssl:8443:...`). Daphne leaves the scheme out of a WebSocket's ASGI
# scope, so arriving on one of these ports is how the edge knows a connection came over TLS.
OCPP_TLS_PORTS = _env_ports("OCPP_TLS_PORTS")

# Token bucket per connection: CALLs beyond it are answered with a CALLERROR instead of reaching the database.
# A compliant station waits for each answer, so its pace is one CALL per round trip; the defaults leave room for
# one replaying an offline queue over a fast link (500 at once, then one per 20 ms) and stop clients that pipeline.
OCPP_RATE_LIMIT_PER_S = _env_positive_int("OCPP_RATE_LIMIT_PER_S", 50)
OCPP_RATE_LIMIT_BURST = _env_positive_int("OCPP_RATE_LIMIT_BURST", 500)

# Vendors whose DataTransfer messages this platform understands; others are stored and answered UnknownVendorId.
OCPP_DATA_TRANSFER_VENDOR_IDS = env_list("OCPP_DATA_TRANSFER_VENDOR_IDS", [])

# Where stations upload diagnostics and logs (GetDiagnostics/GetLog): `{domain}` becomes the brand's primary
# domain, so the upload reaches the brand's schema. Behind TLS in production: https://{domain}.
STATION_UPLOAD_BASE_URL = env_str("STATION_UPLOAD_BASE_URL", "http://{domain}:8000")
# Larger uploads are refused (HTTP 413) and nothing is kept.
STATION_UPLOAD_MAX_BYTES = _env_positive_int("STATION_UPLOAD_MAX_BYTES", 100 * 1024 * 1024)

# PBKDF2 iterations of station passwords (machine secrets of 16+ random characters, not people's passwords):
# each connection verifies one, so this is CPU per connect (docs/decisions/0008-station-password-hashing.md).
OCPP_PASSWORD_ITERATIONS = _env_positive_int("OCPP_PASSWORD_ITERATIONS", 1000)
