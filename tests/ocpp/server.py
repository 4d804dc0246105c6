"""One real daphne for the OCPP end-to-end tests: plain and TLS endpoints, fast pings, the test database.

A plugin of tests/conftest.py, so tests/ocpp and tests/tools/simulator share the one server.

Starting daphne costs about two seconds, so the end-to-end tests share one server. They are transactional, so
what a test puts in the database is committed before its stations connect, and wiped after it.
"""

import datetime
import ipaddress
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.contrib.auth.hashers import make_password
from django_tenants.utils import schema_context

from apps.stations.models import NetworkSettings, Station
from tests.conftest import BASE_DIR
from tests.processes import DaphneProcess, free_port

# Daphne pings a connection idle for PING_INTERVAL_S and drops it when no pong came PING_TIMEOUT_S later.
PING_INTERVAL_S = 1
PING_TIMEOUT_S = 2


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """An ECDSA P-256 certificate for 127.0.0.1/localhost: (certificate, private key) PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class OcppDaphne(DaphneProcess):
    """DaphneProcess with a TLS endpoint beside the plain one and the presence flags of the Procfile.

    Its per-connection rate limit is lower than the default (burst 500, 50 CALLs/s), so that a flood outruns the
    bucket whatever this machine's speed: a server that takes 10 ms a CALL serves only 100 a second, which the
    default's refill nearly matches. No other test comes near it."""

    rate_limit_per_s = 20
    rate_limit_burst = 200

    def __init__(self, log_path: Path, cert_path: Path, key_path: Path, **env: str):
        self.tls_port = free_port()
        super().__init__(
            log_path,
            OCPP_TLS_PORTS=str(self.tls_port),
            LOG_LEVEL="INFO",
            OCPP_RATE_LIMIT_PER_S=str(self.rate_limit_per_s),
            OCPP_RATE_LIMIT_BURST=str(self.rate_limit_burst),
            **env,
        )
        # Stations upload logs to this server, on the brand's domain (which the tests resolve to 127.0.0.1).
        self.env["STATION_UPLOAD_BASE_URL"] = f"http://{{domain}}:{self.port}"
        self.media_root = log_path.parent / "media"
        self.env["TEST_MEDIA_ROOT"] = str(self.media_root)
        self.cert_path = cert_path
        self.key_path = key_path

    def __enter__(self) -> "OcppDaphne":
        self._log = self.log_path.open("w")
        command = [
            sys.executable,
            "-m",
            "daphne",
            "-e",
            f"tcp:{self.port}:interface=127.0.0.1",
            "-e",
            f"ssl:{self.tls_port}:privateKey={self.key_path}:certKey={self.cert_path}:interface=127.0.0.1",
            "--ping-interval",
            str(PING_INTERVAL_S),
            "--ping-timeout",
            str(PING_TIMEOUT_S),
            "--websocket_timeout",
            "-1",
            "config.asgi:application",
        ]
        self.process = subprocess.Popen(command, cwd=BASE_DIR, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"daphne did not start:\n{self.log}")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def ocpp_server(django_db_setup, tmp_path_factory, redis_server):
    """The stations' server, on Redis as in production, so other processes (the tests' own, a second daphne, a
    worker) reach its connections through the channel layer."""
    directory = tmp_path_factory.mktemp("ocpp-daphne")
    cert_path, key_path = self_signed_certificate(directory)
    with OcppDaphne(directory / "daphne.log", cert_path, key_path, REDIS_URL=redis_server.url) as server:
        yield server


def redis_channel_layers(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": url, "socket_timeout": None}]},
        }
    }


@pytest.fixture
def same_channel_layer(ocpp_server, redis_server, settings):
    """This process on the stations' server's Redis, as a web or worker process would be."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = redis_channel_layers(redis_server.url)
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def in_tenant(tenant):
    """`with in_tenant():` runs ORM code in the tenant's schema (the e2e tests' own thread stays in public)."""
    return lambda: schema_context(tenant.schema_name)


@pytest.fixture
def station_make(in_tenant):
    """A station as an operator would have registered it, committed before its charger connects."""

    def make(identity: str, *, password: str | None = None, profile: int = 1, registration: str = "accepted"):
        with in_tenant():
            return Station.objects.create(
                identity=identity,
                security_profile=profile,
                password_hash=make_password(password) if password else "",
                registration_status=registration,
            )

    return make


@pytest.fixture
def network_configure(in_tenant):
    def configure(**fields):
        with in_tenant():
            network = NetworkSettings.get()
            for name, value in fields.items():
                setattr(network, name, value)
            network.save()

    return configure


@pytest.fixture
def settled(in_tenant):
    """After the test: wait until the server has processed every disconnect, so none runs into the wipe."""
    yield
    deadline = time.monotonic() + 10
    while True:
        with in_tenant():
            if not Station.objects.filter(is_online=True).exists():
                return
        if time.monotonic() > deadline:
            raise AssertionError("stations still online 10 s after the test closed their connections")
        time.sleep(0.05)


def eventually(check, timeout: float = 10, interval: float = 0.05):
    """The first truthy result of `check()` within `timeout` seconds (servers act after the client returns)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)
