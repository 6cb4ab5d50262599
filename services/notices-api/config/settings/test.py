"""Tests: each run gets databases of its own, so runs and `make run` never collide.

TEST_DATABASE=sqlite runs the DB-agnostic suite on SQLite; otherwise PostgreSQL at
TEST_POSTGRES_URL, with a database name unique to this run.
"""

import os
import uuid

from config.settings.base import *  # noqa: F403
from config.settings.base import database_from_url

RUN_ID = os.environ.get("TEST_RUN_ID") or uuid.uuid4().hex[:10]

if os.environ.get("TEST_DATABASE", "postgres") == "sqlite":
    DATABASES = {"default": database_from_url("sqlite://:memory:")}
else:
    _postgres = database_from_url(
        os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    )
    _postgres["TEST"] = {"NAME": f"test_notices_api_{RUN_ID}"}
    _postgres["CONN_MAX_AGE"] = 0
    DATABASES = {"default": _postgres}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
OUTBOX_EXCHANGE = f"notices.events.test.{RUN_ID}"
# Tests read the backlog they just wrote; the cache test sets its own age.
NOTICES_METRICS_CACHE_SECONDS = 0.0

# Throttling stays on (as in production), with limits no test run reaches; the
# throttling test lowers them itself.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {
        "anon": "100000/minute",
        "user": "100000/minute",
        "auth": "100000/minute",
    },
}

# Throttle counts in memory: the shared database cache would add its queries to every
# request the query-count tests measure. Its table is still made by migrate (test_throttling).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
