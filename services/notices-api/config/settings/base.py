"""Settings shared by every environment. Secrets and URLs come from env vars."""

import os
from pathlib import Path

import dj_database_url

from notices_api.core.logging import configure_logging
from notices_contracts import EXCHANGE_NAME

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("NOTICES_API_VAR_DIR", BASE_DIR / "var"))

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
DEBUG = os.environ.get("DJANGO_DEBUG", "false").lower() in {"1", "true", "yes"}
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "*").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "notices_api.core",
    "notices_api.accounts",
    "notices_api.outbox",
]

MIDDLEWARE = [
    "notices_api.core.middleware.RequestContextMiddleware",
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
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'notices-api.sqlite3'}")
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

# Public base URL of the API, used for links carried in events (notice.published url).
PUBLIC_BASE_URL = os.environ.get("NOTICES_PUBLIC_BASE_URL", "http://localhost:8000")

# Outbox and relay
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")
OUTBOX_EXCHANGE = os.environ.get("OUTBOX_EXCHANGE", EXCHANGE_NAME)
# Rows are spread over partitions by aggregate id; one relay owns a partition at a
# time, which keeps each aggregate's events in order. Changing it re-partitions
# only new rows, so drain the outbox before changing it.
OUTBOX_PARTITIONS = int(os.environ.get("OUTBOX_PARTITIONS", "16"))
OUTBOX_NOTIFY_CHANNEL = "notices_outbox"
# The relay (manage.py outbox_relay; docs/relay.md explains each knob).
OUTBOX_RELAY_BATCH_SIZE = int(os.environ.get("OUTBOX_RELAY_BATCH_SIZE", "1000"))
# Publishes awaiting a broker confirm at once; one aggregate never has more than one.
OUTBOX_RELAY_CONFIRM_WINDOW = int(os.environ.get("OUTBOX_RELAY_CONFIRM_WINDOW", "500"))
# No confirm for this long: the unconfirmed publishes count as failed attempts.
OUTBOX_RELAY_CONFIRM_TIMEOUT = float(os.environ.get("OUTBOX_RELAY_CONFIRM_TIMEOUT", "10"))
OUTBOX_RELAY_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_RELAY_MAX_ATTEMPTS", "10"))
OUTBOX_RELAY_BACKOFF_BASE = float(os.environ.get("OUTBOX_RELAY_BACKOFF_BASE", "1"))
OUTBOX_RELAY_BACKOFF_CAP = float(os.environ.get("OUTBOX_RELAY_BACKOFF_CAP", "300"))
# Without a NOTIFY (SQLite, or one lost with a dropped connection) the relay looks this often.
OUTBOX_RELAY_POLL_INTERVAL = float(os.environ.get("OUTBOX_RELAY_POLL_INTERVAL", "1"))
# How often a relay counts its peers, takes free partitions and gives up extra ones.
OUTBOX_RELAY_REBALANCE_INTERVAL = float(os.environ.get("OUTBOX_RELAY_REBALANCE_INTERVAL", "2"))
# First key of the PostgreSQL advisory locks that own partitions (second key: partition).
OUTBOX_RELAY_LOCK_NAMESPACE = int(os.environ.get("OUTBOX_RELAY_LOCK_NAMESPACE", "1869968482"))
OUTBOX_RELAY_RECONNECT_BASE = float(os.environ.get("OUTBOX_RELAY_RECONNECT_BASE", "0.5"))
OUTBOX_RELAY_RECONNECT_CAP = float(os.environ.get("OUTBOX_RELAY_RECONNECT_CAP", "30"))
# Prometheus endpoint of the relay process; 0 turns it off.
OUTBOX_RELAY_METRICS_PORT = int(os.environ.get("OUTBOX_RELAY_METRICS_PORT", "9108"))
OUTBOX_RELAY_GAUGE_INTERVAL = float(os.environ.get("OUTBOX_RELAY_GAUGE_INTERVAL", "5"))
# Published rows older than this are deleted, in batches, every prune interval.
OUTBOX_RETENTION_SECONDS = float(os.environ.get("OUTBOX_RETENTION_SECONDS", str(7 * 24 * 3600)))
OUTBOX_PRUNE_INTERVAL = float(os.environ.get("OUTBOX_PRUNE_INTERVAL", "300"))
OUTBOX_PRUNE_BATCH_SIZE = int(os.environ.get("OUTBOX_PRUNE_BATCH_SIZE", "5000"))

LOG_FORMAT = os.environ.get("LOG_FORMAT", "auto")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING_CONFIG = None
configure_logging(log_format=LOG_FORMAT, level=LOG_LEVEL)
