"""Test settings: fast hashing, local memory email, and the same database rules as local."""

import os

from .local import *  # noqa: F401,F403

DEBUG = False
# Fast user passwords; PBKDF2 to check secrets stored before the client secret hasher, and that hasher itself.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    OAUTH_CLIENT_SECRET_HASHER_CLASS,  # noqa: F405
]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The suite signs in hundreds of times a minute from 127.0.0.1; tests of the limits switch them back on.
ACCOUNT_RATE_LIMITS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# A server process the tests start keeps uploaded files where the tests can read them.
if os.environ.get("TEST_MEDIA_ROOT"):
    STORAGES["default"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": os.environ["TEST_MEDIA_ROOT"]},
    }
# Servers the tests start serve static files straight from the apps (no collectstatic), as local development does.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# Connections opened in sync_to_async threads close after each call, so the test database can be dropped at the end.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# Concurrent test runs on one server (several checkouts or agents) each name their own test database.
if os.environ.get("TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DB_NAME"]}  # noqa: F405
