"""Settings shared by every environment. Secrets and URLs come from env vars, each read
through ``env`` (config.env): a bad value stops the start naming its variable."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
import structlog

from config.env import Env
from notices_api.core.logging import configure_logging
from notices_api.outbox.config import RelaySettings
from notices_contracts import EXCHANGE_NAME

env = Env()
BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(env.str("NOTICES_API_VAR_DIR", default=str(BASE_DIR / "var")))

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",  # API tokens, stored as digests (REST_KNOX below)
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's assets as static files: no CDN
    "notices_api.core",
    "notices_api.accounts",
    "notices_api.outbox",
    "notices_api.groups",
    "notices_api.notices",
    "notices_api.web",
    "notices_api.console",
]

MIDDLEWARE = [
    "notices_api.core.middleware.RequestContextMiddleware",
    "notices_api.core.metrics.RequestMetricsMiddleware",
    "notices_api.core.request_limits.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notices_api.web.context_processors.unread_count",
            ],
        },
    },
]


def database_from_url(url: str) -> dict[str, object]:
    config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=60))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of
        # failing with "database is locked" halfway through a transaction.
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
        config["CONN_MAX_AGE"] = 0
    return config


DATABASES = {
    "default": database_from_url(
        env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'notices-api.sqlite3'}")
    )
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:inbox"
LOGOUT_REDIRECT_URL = "web:login"

# Public base URL of the API, used for links carried in events (notice.published url).
PUBLIC_BASE_URL = env.str("NOTICES_PUBLIC_BASE_URL", default="http://localhost:8000").rstrip("/")

# /metrics recomputes its database gauges at most once per window per process; with a
# token set, it asks for it as a bearer token (docs/security.md).
NOTICES_METRICS_CACHE_SECONDS = env.float("NOTICES_METRICS_CACHE_SECONDS", default=15.0)
NOTICES_METRICS_TOKEN = env.str("NOTICES_METRICS_TOKEN", default="")

# The publisher console reads delivery state from the notifier's HTTP API, server-side.
NOTIFIER_API_URL = env.str("NOTIFIER_API_URL", default="http://localhost:8001").rstrip("/")
NOTIFIER_API_TOKEN = env.str("NOTIFIER_API_TOKEN", default="")

# The benchmark's constant endpoint (GET /api/v1/bench/baseline/, core.views.BenchBaselineView).
BENCH_BASELINE_ENDPOINT = env.bool("NOTICES_BENCH_BASELINE_ENDPOINT", default=False)

# HTTP API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated API call gets 401 with WWW-Authenticate: Token.
        "notices_api.accounts.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_RATE_ANON", default="60/minute"),
        "user": env.str("THROTTLE_RATE_USER", default="1200/minute"),
        # Password guessing on the token endpoint, counted per client address.
        "auth": env.str("THROTTLE_RATE_AUTH", default="20/minute"),
    },
    "EXCEPTION_HANDLER": "notices_api.core.problems.problem_exception_handler",
    # Throttles count per client address: X-Forwarded-For is believed only through this many
    # proxies of ours; with 0 it is ignored (a client could forge it) and REMOTE_ADDR counts.
    "NUM_PROXIES": env.int("NOTICES_TRUSTED_PROXY_COUNT", default=0),
    "DEFAULT_SCHEMA_CLASS": "notices_api.core.schema.ProblemAwareAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# API tokens (POST /api/v1/auth/token/): the database keeps a SHA-512 digest of each, never
# the token. Each expires this long after it was issued, with no sliding renewal: 30 days
# let a script sign in about monthly, while a leaked token stops working within a month
# even if nobody revokes it (docs/security.md).
REST_KNOX = {
    "TOKEN_TTL": timedelta(
        seconds=env.int("NOTICES_API_TOKEN_TTL_SECONDS", default=30 * 24 * 3600)
    ),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
# Throttle counts are shared by every process and replica: a table of the database
# (created by the core app's migration), or Redis when NOTICES_CACHE_URL names one
# (redis://host:6379/0, rediss:// for TLS).
CACHES = {"default": env.cache_url("NOTICES_CACHE_URL", default="dbcache://notices_api_cache")}
# Larger request bodies answer 413 before anything reads them (docs/security.md).
NOTICES_MAX_REQUEST_BYTES = env.int("NOTICES_MAX_REQUEST_BYTES", default=1048576)
# Problem details (RFC 9457): ``type`` is this prefix plus a slug, e.g. validation-error.
PROBLEM_TYPE_BASE = "urn:notices:problem:"

SPECTACULAR_SETTINGS = {
    "TITLE": "notices-api",
    "DESCRIPTION": (
        "Publishers address notices to users and groups; recipients list and read them. "
        "Every error is an RFC 9457 problem (application/problem+json)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {"NoticeStatusEnum": "notices_api.notices.models.Notice.Status"},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "notices_api.core.schema.closed_request_bodies",
    ],
}

# Outbox and relay
AMQP_URL = env.str("AMQP_URL", default="amqp://guest:guest@localhost:5672/")
OUTBOX_EXCHANGE = env.str("OUTBOX_EXCHANGE", default=EXCHANGE_NAME)
# Rows are spread over partitions by aggregate id; one relay owns a partition at a
# time, which keeps each aggregate's events in order. Changing it re-partitions
# only new rows, so drain the outbox before changing it.
OUTBOX_PARTITIONS = env.int("OUTBOX_PARTITIONS", default=16)
OUTBOX_NOTIFY_CHANNEL = "notices_outbox"
# The relay's tuning: env vars OUTBOX_RELAY_<FIELD> (see RelaySettings and docs/relay.md).
OUTBOX_RELAY = RelaySettings.from_env(env)

LOG_FORMAT = env.str("LOG_FORMAT", default="auto")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING_CONFIG = None
configure_logging(log_format=LOG_FORMAT, level=LOG_LEVEL)
for _old, _new in env.renamed_in_use:
    structlog.get_logger(__name__).warning("env_var_renamed", old=_old, new=_new)
