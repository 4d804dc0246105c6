"""Local development: DEBUG on, a secret generated once under .data/, emails to the console."""

import secrets

from .base import *  # noqa: F401,F403
from .base import EMBEDDED_DIR, SECRET_KEY, env_bool, env_str

DEBUG = env_bool("DEBUG", True)


def _local_secret_key() -> str:
    """A per-checkout secret, made on first use and kept out of git (.data/ is ignored)."""
    path = EMBEDDED_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = SECRET_KEY or _local_secret_key()
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", True)  # receivers on localhost
# The driver app's OAuth client may return to http://<brand>.localhost (apps/api/services/driver_app.py); production
# (base) allows https redirect URIs only.
OAUTH2_PROVIDER = {**OAUTH2_PROVIDER, "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"]}  # noqa: F405
# Web Push endpoints on http://localhost / 127.0.0.1 (a test's push service); production accepts https only.
WEB_PUSH_ALLOW_HTTP_LOCALHOST = env_bool("WEB_PUSH_ALLOW_HTTP_LOCALHOST", True)
