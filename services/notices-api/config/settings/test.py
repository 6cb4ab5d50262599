"""Tests: each run gets databases of its own, so runs and `make run` never collide.

TEST_DATABASE=sqlite runs the DB-agnostic suite on SQLite; otherwise PostgreSQL at
TEST_POSTGRES_URL, with a database name unique to this run.
"""

import uuid

from config.settings.base import *  # noqa: F403
from config.settings.base import database_from_url, env

RUN_ID = env.str("TEST_RUN_ID", default="") or uuid.uuid4().hex[:10]

if env.str("TEST_DATABASE", default="postgres") == "sqlite":
    DATABASES = {"default": database_from_url("sqlite://:memory:")}
else:
    _postgres = database_from_url(
        env.str("TEST_POSTGRES_URL", default="postgres://postgres@127.0.0.1:5432/postgres")
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
# The Redis the test of NOTICES_CACHE_URL keeps its counts in, under keys of this run.
TEST_REDIS_URL = env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/0")
