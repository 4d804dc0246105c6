"""Configuration comes from the environment, strictly; production refuses unsafe settings."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.env import env_bool, env_int, env_list
from tests.conftest import run_python

GOOD_SECRET = "k" * 20 + "Zq9-x_7LmN2pR4tV8wY1aC3eG5iK0oQ6"

PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "db": [db["HOST"], str(db["PORT"]), db["NAME"]],
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "broker": settings.CELERY_BROKER_URL,
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "debug": settings.DEBUG,
    "hsts": getattr(settings, "SECURE_HSTS_SECONDS", 0),
    "secure_cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
    "secret_len": len(settings.SECRET_KEY),
    "secret": settings.SECRET_KEY,
}))
"""


def _settings(module: str, **env: str) -> dict:
    result = run_python(PRINT_SETTINGS, DJANGO_SETTINGS_MODULE=module, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_environment_the_embedded_defaults_are_used():
    values = _settings("config.settings.local", DATABASE_URL=None)

    from tools.embedded import PG_PORT_FILE

    expected_port = PG_PORT_FILE.read_text().strip() if PG_PORT_FILE.exists() else "54329"
    assert values["db"] == ["127.0.0.1", expected_port, "platform"]
    assert values["layer"] == "channels.layers.InMemoryChannelLayer"
    assert values["eager"] is True
    assert values["debug"] is True


def test_urls_in_the_environment_switch_to_external_services():
    values = _settings(
        "config.settings.local",
        DATABASE_URL="postgres://ev:secret@db.internal:6543/evplatform",
        REDIS_URL="redis://cache.internal:6379/1",
    )

    assert values["db"] == ["db.internal", "6543", "evplatform"]
    assert values["layer"] == "channels_redis.core.RedisChannelLayer"
    assert values["layer_hosts"] == [{"address": "redis://cache.internal:6379/1", "socket_timeout": None}]
    assert values["broker"] == "redis://cache.internal:6379/1"
    assert values["eager"] is False


def test_a_separate_broker_url_wins_over_redis_url():
    values = _settings(
        "config.settings.local",
        REDIS_URL="redis://cache.internal:6379/1",
        CELERY_BROKER_URL="redis://queue.internal:6379/2",
    )
    assert values["broker"] == "redis://queue.internal:6379/2"


def test_local_secret_key_is_generated_once_and_kept():
    first = _settings("config.settings.local", SECRET_KEY="")
    second = _settings("config.settings.local", SECRET_KEY="")

    assert first["secret_len"] >= 50
    assert first["secret"] == second["secret"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": GOOD_SECRET, "DEBUG": "1"}, "DEBUG must be off"),
        ({"SECRET_KEY": ""}, "Set SECRET_KEY"),
        ({"SECRET_KEY": "django-insecure-" + "a" * 50}, "Set SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "Set SECRET_KEY"),
        ({"SECRET_KEY": GOOD_SECRET, "DEBUG": "maybe"}, "is not a boolean"),
    ],
)
def test_production_refuses_unsafe_settings(env, message):
    result = run_python("import django; django.setup()", DJANGO_SETTINGS_MODULE="config.settings.production", **env)

    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_secure_cookies_and_hsts():
    values = _settings("config.settings.production", SECRET_KEY=GOOD_SECRET)

    assert values["debug"] is False
    assert values["hsts"] == 31536000
    assert values["secure_cookies"] == [True, True]


def test_env_helpers_reject_malformed_values(monkeypatch):
    monkeypatch.setenv("X_BOOL", "perhaps")
    monkeypatch.setenv("X_INT", "12a")
    monkeypatch.setenv("X_LIST", "a, b,,c")

    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env_bool("X_BOOL", False)
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env_int("X_INT", 0)
    assert env_list("X_LIST", []) == ["a", "b", "c"]
