"""Password guessing is counted per client address, which a client cannot forge."""

import importlib

import pytest
from django.db import connection
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db

LIMIT = 20


@pytest.fixture
def auth_limit(monkeypatch):
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "auth": f"{LIMIT}/minute"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


def test_a_forged_forwarded_for_does_not_reset_the_count(client, recipient, auth_limit):
    statuses = [
        client.post(
            "/api/v1/auth/token/",
            {"username": "bob", "password": f"guess-{attempt}"},
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}",
        ).status_code
        for attempt in range(80)
    ]
    assert statuses == [401] * LIMIT + [429] * (80 - LIMIT)


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
