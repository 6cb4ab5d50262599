"""Password guessing is counted per client address, which a client cannot forge."""

import importlib
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from rest_framework.throttling import SimpleRateThrottle

from config.env import Env

pytestmark = pytest.mark.django_db

LIMIT = 20


@pytest.fixture
def auth_limit(monkeypatch):
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "auth": f"{LIMIT}/minute"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


@pytest.fixture
def redis_cache(settings) -> Iterator[tuple[redis.Redis, str]]:
    """The cache NOTICES_CACHE_URL=TEST_REDIS_URL configures, under keys of this run only:
    the server and the key prefix. Its keys are deleted afterwards (never the database)."""
    url = settings.TEST_REDIS_URL
    server = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        server.ping()
    except redis.RedisError as error:
        pytest.fail(
            f"Redis at TEST_REDIS_URL={url!r} does not answer ({error}): start it "
            "(redis-server) or point TEST_REDIS_URL at one",
            pytrace=False,
        )
    prefix = f"test-notices-api-{settings.RUN_ID}-{uuid.uuid4().hex[:8]}"
    configured = Env({"NOTICES_CACHE_URL": url}).cache_url("NOTICES_CACHE_URL")
    settings.CACHES = {"default": {**configured, "KEY_PREFIX": prefix}}
    yield server, prefix
    for key in server.scan_iter(match=f"{prefix}:*"):
        server.delete(key)
    server.close()


def eighty_wrong_passwords_from_fresh_addresses(client) -> list[int]:
    return [
        client.post(
            "/api/v1/auth/token/",
            {"username": "bob", "password": f"guess-{attempt}"},
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}",
        ).status_code
        for attempt in range(80)
    ]


def test_a_forged_forwarded_for_does_not_reset_the_count(client, recipient, auth_limit):
    statuses = eighty_wrong_passwords_from_fresh_addresses(client)
    assert statuses == [401] * LIMIT + [429] * (80 - LIMIT)


@pytest.mark.postgres_only
@pytest.mark.redis
def test_with_redis_as_the_cache_the_counts_live_there(client, recipient, auth_limit, redis_cache):
    server, prefix = redis_cache
    assert isinstance(caches["default"], RedisCache)

    statuses = eighty_wrong_passwords_from_fresh_addresses(client)

    assert statuses == [401] * LIMIT + [429] * (80 - LIMIT)
    counts = [key.decode() for key in server.scan_iter(match=f"{prefix}:*")]
    assert any("throttle_auth" in key for key in counts), counts


def test_admin_sign_in_is_throttled_at_the_same_rate(client, auth_limit):
    statuses = [
        client.post(
            "/admin/login/",
            {"username": "admin", "password": f"guess-{attempt}"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}",
        ).status_code
        for attempt in range(LIMIT + 2)
    ]
    assert statuses == [200] * LIMIT + [429, 429]
    assert client.get("/admin/login/").status_code == 200


# Outside a test transaction: SQLite's schema editor refuses to run inside one.
@pytest.mark.django_db(transaction=True)
def test_the_core_migration_creates_the_table_of_the_shared_throttle_counts(settings):
    from config.settings import base

    migration = importlib.import_module("notices_api.core.migrations.0001_cache_table")
    settings.CACHES = base.CACHES
    assert base.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    with connection.schema_editor() as editor:
        migration.create_cache_table(None, editor)
    assert base.CACHES["default"]["LOCATION"] in connection.introspection.table_names()
