"""config.settings.production refuses bad values and unsafe ones; HTTPS hardening is one switch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE_DIR = Path(__file__).resolve().parents[3]
LOAD = (
    "import json, django; django.setup(); from django.conf import settings; "
    "print(json.dumps([settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, "
    "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
    "settings.SECURE_PROXY_SSL_HEADER]))"
)


def load_production(script: str = LOAD, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "k" * 50,
        "DATABASE_URL": "sqlite:///:memory:",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=SERVICE_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("hosts", ["*", "", "example.com,*", " , "])
def test_production_refuses_a_wildcard_or_empty_host_list(hosts: str) -> None:
    result = load_production(DJANGO_ALLOWED_HOSTS=hosts)

    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_without_the_https_switch_sets_no_https_hardening() -> None:
    result = load_production(DJANGO_ALLOWED_HOSTS="api.example.com")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, 0, False, False, None]


def test_the_https_switch_turns_on_proxy_header_hsts_redirect_and_secure_cookies() -> None:
    result = load_production(DJANGO_ALLOWED_HOSTS="api.example.com", DJANGO_HTTPS="true")

    assert result.returncode == 0, result.stderr
    redirect, hsts, session_secure, csrf_secure, proxy_header = json.loads(result.stdout)
    assert redirect is True
    assert hsts >= 31536000
    assert session_secure
    assert csrf_secure
    assert proxy_header == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OUTBOX_RELAY_BATCH_SIZE", "abc"),
        ("OUTBOX_RELAY_CONFIRM_TIMEOUT_SECONDS", "ten"),
        ("OUTBOX_RELAY_POLL_INTERVAL_SECONDS", "1.5s"),
        ("DJANGO_DEBUG", "maybe"),
        ("DJANGO_HTTPS", "sometimes"),
        ("NOTICES_MAX_REQUEST_BYTES", "1MB"),
        ("NOTICES_TRUSTED_PROXY_COUNT", "one"),
        ("NOTICES_METRICS_CACHE_SECONDS", "fifteen"),
        ("NOTICES_CACHE_URL", "memcached-ish://cache:11211"),
    ],
)
def test_a_bad_value_stops_the_start_naming_its_variable(name: str, value: str) -> None:
    result = load_production(DJANGO_ALLOWED_HOSTS="api.example.com", **{name: value})

    assert result.returncode != 0
    assert f"{name}={value!r}" in result.stderr, result.stderr


CACHE_BACKEND = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION'])"
)


@pytest.mark.parametrize(
    ("url", "backend", "location"),
    [
        (None, "django.core.cache.backends.db.DatabaseCache", "notices_api_cache"),
        (
            "redis://127.0.0.1:6379/0",
            "django.core.cache.backends.redis.RedisCache",
            "redis://127.0.0.1:6379/0",
        ),
        (
            "rediss://:secret@redis.internal:6380/2",
            "django.core.cache.backends.redis.RedisCache",
            "rediss://:secret@redis.internal:6380/2",
        ),
    ],
)
def test_the_cache_url_chooses_where_throttle_counts_live(
    url: str | None, backend: str, location: str
) -> None:
    cache_env = {} if url is None else {"NOTICES_CACHE_URL": url}
    result = load_production(CACHE_BACKEND, DJANGO_ALLOWED_HOSTS="api.example.com", **cache_env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [backend, location]


@pytest.mark.parametrize("token", ["short-token", "CHANGE-ME", "CHANGE-ME" + "x" * 40])
def test_production_refuses_a_short_or_placeholder_metrics_token(token: str) -> None:
    result = load_production(DJANGO_ALLOWED_HOSTS="api.example.com", NOTICES_METRICS_TOKEN=token)

    assert result.returncode != 0
    assert "NOTICES_METRICS_TOKEN" in result.stderr


@pytest.mark.parametrize("token", ["", "m" * 32])
def test_production_takes_a_long_metrics_token_or_none(token: str) -> None:
    result = load_production(DJANGO_ALLOWED_HOSTS="api.example.com", NOTICES_METRICS_TOKEN=token)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("key", ["short-key", "CHANGE-ME" + "k" * 40])
def test_production_refuses_a_short_or_placeholder_secret_key(key: str) -> None:
    result = load_production(DJANGO_ALLOWED_HOSTS="api.example.com", DJANGO_SECRET_KEY=key)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_an_old_name_still_sets_its_setting_and_the_log_says_the_new_name() -> None:
    result = load_production(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.OUTBOX_RELAY.poll_interval_seconds)",
        DJANGO_ALLOWED_HOSTS="api.example.com",
        LOG_FORMAT="json",
        OUTBOX_RELAY_POLL_INTERVAL="0.25",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.25"
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {
        "event": "env_var_renamed",
        "old": "OUTBOX_RELAY_POLL_INTERVAL",
        "new": "OUTBOX_RELAY_POLL_INTERVAL_SECONDS",
    }.items() <= logged[0].items()
