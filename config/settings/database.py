"""Database: DATABASE_URL when set, otherwise the embedded PostgreSQL that `make run`/`make test` start under .data/."""

from pathlib import Path

import dj_database_url

from .env import env_int, env_str

BASE_DIR = Path(__file__).resolve().parents[2]
EMBEDDED_DIR = BASE_DIR / ".data"


def embedded_database_url() -> str:
    """The URL of the project-private PostgreSQL (see tools/embedded.py, which writes its port file)."""
    port_file = EMBEDDED_DIR / "pg" / "port"
    port = port_file.read_text().strip() if port_file.exists() else "54329"
    return f"postgres://platform@127.0.0.1:{port}/platform"


DATABASE_URL = env_str("DATABASE_URL", "") or embedded_database_url()
DATABASE_IS_EMBEDDED = not env_str("DATABASE_URL", "")

DATABASES = {
    "default": {
        **dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True),
        # django-tenants sets search_path per request; its backend wraps Django's PostgreSQL backend.
        "ENGINE": "django_tenants.postgresql_backend",
    }
}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# Threads (and so PostgreSQL connections) per server process for the database work of async code (run_in_tenant).
DB_WORKER_THREADS = env_int("DB_WORKER_THREADS", 8)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
