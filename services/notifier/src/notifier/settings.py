"""Configuration from the environment (12-factor), with defaults for a one-machine run."""

from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from notices_contracts.envelope import DEFAULT_SOURCE
from notifier.channels.email import SmtpTls
from notifier.store.retention import RetentionPolicy

SERVICE_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{SERVICE_ROOT / 'var' / 'notifier.sqlite3'}"


class Role(StrEnum):
    """What one notifier process does; ``notifier run`` runs all three unless told otherwise."""

    CONSUMER = "consumer"  # queue -> inbox + ledger rows
    DISPATCHER = "dispatcher"  # due ledger rows -> SMTP / webhooks
    API = "api"  # the /v1 HTTP API and the unsubscribe pages


ALL_ROLES = ",".join(role.value for role in Role)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, alias="NOTIFIER_DATABASE_URL")
    amqp_url: str = Field("amqp://guest:guest@localhost:5672/", alias="AMQP_URL")

    api_token: str = Field("", alias="NOTIFIER_API_TOKEN")
    api_host: str = Field("0.0.0.0", alias="NOTIFIER_API_HOST")
    api_port: int = Field(8001, alias="NOTIFIER_API_PORT")
    public_base_url: str = Field("http://localhost:8001", alias="NOTIFIER_PUBLIC_BASE_URL")
    # The web app's settings page, linked from every email; empty: no link.
    preferences_url: str = Field("", alias="NOTIFIER_PREFERENCES_URL")
    # Larger bodies are refused with 413 before authentication (see notifier.api.limits).
    max_request_bytes: int = Field(1024 * 1024, alias="NOTIFIER_MAX_REQUEST_BYTES", ge=1024)
    # Comma-separated: the first signs unsubscribe links, every one verifies (rotation).
    # Unset: the API token signs them, as before, with a warning at startup.
    link_signing_keys_value: str = Field("", alias="NOTIFIER_LINK_SIGNING_KEYS")
    # /metrics answers only with this bearer token when set (else open: keep it internal).
    metrics_token: str = Field("", alias="NOTIFIER_METRICS_TOKEN")
    # The due-backlog gauges are recomputed at most this often, however often scraped.
    metrics_cache_seconds: float = Field(15.0, alias="NOTIFIER_METRICS_CACHE_SECONDS", ge=0)

    smtp_host: str = Field("localhost", alias="SMTP_HOST")
    smtp_port: int = Field(25, alias="SMTP_PORT")
    smtp_username: str | None = Field(None, alias="SMTP_USERNAME")
    smtp_password: str | None = Field(None, alias="SMTP_PASSWORD")
    smtp_tls: SmtpTls = Field(SmtpTls.OPPORTUNISTIC, alias="SMTP_TLS")
    # Deprecated, read for one release: true means SMTP_TLS=required, false opportunistic.
    smtp_starttls: bool | None = Field(None, alias="SMTP_STARTTLS")
    smtp_from: str = Field("Notices <notices@localhost>", alias="SMTP_FROM")
    smtp_timeout_seconds: float = Field(10.0, alias="SMTP_TIMEOUT_SECONDS")

    webhook_timeout_seconds: float = Field(10.0, alias="NOTIFIER_WEBHOOK_TIMEOUT_SECONDS")
    allow_private_webhooks: bool = Field(False, alias="NOTIFIER_ALLOW_PRIVATE_WEBHOOKS")

    exchange: str = Field("notices.events", alias="NOTIFIER_EXCHANGE")
    # Events not published by this broker user with this CloudEvents source are
    # dead-lettered (notifier.trust). Unset user: the user of AMQP_URL.
    trusted_publisher_user: str | None = Field(None, alias="NOTIFIER_TRUSTED_PUBLISHER_USER")
    trusted_source: str = Field(DEFAULT_SOURCE, alias="NOTIFIER_TRUSTED_SOURCE")
    queue: str = Field("notifier.events", alias="NOTIFIER_QUEUE")
    dead_letter_exchange_name: str | None = Field(None, alias="NOTIFIER_DEAD_LETTER_EXCHANGE")
    dead_letter_queue_name: str | None = Field(None, alias="NOTIFIER_DEAD_LETTER_QUEUE")
    retry_queue_prefix_name: str | None = Field(None, alias="NOTIFIER_RETRY_QUEUE_PREFIX")
    # Events handled in one transaction at most; the consumer takes what has arrived
    # while the previous batch ran, so a quiet queue is handled one event at a time.
    consume_batch_size: int = Field(100, alias="NOTIFIER_CONSUME_BATCH_SIZE", ge=1)
    # Unacknowledged messages the broker lets this process hold: two batches, so the
    # next one is already here while one is being written.
    prefetch: int = Field(200, alias="NOTIFIER_PREFETCH", ge=1)
    # One wait queue per delay; a message that failed transiently len(delays) times
    # more goes to the dead-letter queue.
    consume_retry_delays_seconds: list[float] = Field(
        [1.0, 10.0, 60.0, 300.0], alias="NOTIFIER_CONSUME_RETRY_DELAYS"
    )

    delivery_max_attempts: int = Field(8, alias="NOTIFIER_DELIVERY_MAX_ATTEMPTS", ge=1)
    delivery_backoff_base_seconds: float = Field(2.0, alias="NOTIFIER_DELIVERY_BACKOFF_BASE")
    delivery_backoff_cap_seconds: float = Field(3600.0, alias="NOTIFIER_DELIVERY_BACKOFF_CAP")
    # 16 SMTP connections: at 8 a lane's claims (half its senders at a time) left senders
    # idle often enough to cost a third of the throughput (bench-notifier: 0.54x -> 0.77x
    # of raw aiosmtplib at the same concurrency). Lower it for a provider that limits
    # concurrent connections.
    email_concurrency: int = Field(16, alias="NOTIFIER_EMAIL_CONCURRENCY", ge=1)
    webhook_concurrency: int = Field(32, alias="NOTIFIER_WEBHOOK_CONCURRENCY", ge=1)
    dispatch_poll_seconds: float = Field(1.0, alias="NOTIFIER_DISPATCH_POLL_SECONDS")
    # A claimed delivery not recorded within the lease (its process died) is claimed again.
    claim_lease_seconds: float = Field(60.0, alias="NOTIFIER_CLAIM_LEASE_SECONDS")
    dispatch_enabled: bool = Field(True, alias="NOTIFIER_DISPATCH_ENABLED")
    # Comma-separated; every process serves /healthz, /readyz and /metrics whatever its roles.
    roles_value: str = Field(ALL_ROLES, alias="NOTIFIER_ROLES")

    # notifier prune (see notifier.store.retention): ages in days, rows per transaction.
    retention_inbox_days: float = Field(30.0, alias="NOTIFIER_RETENTION_INBOX_DAYS", gt=0)
    retention_deliveries_days: float = Field(30.0, alias="NOTIFIER_RETENTION_DELIVERIES_DAYS", gt=0)
    retention_reads_days: float = Field(90.0, alias="NOTIFIER_RETENTION_READS_DAYS", gt=0)
    prune_batch_size: int = Field(5000, alias="NOTIFIER_PRUNE_BATCH_SIZE", ge=1)

    log_format: Literal["auto", "json", "console"] = Field("auto", alias="LOG_FORMAT")
    log_level: str = Field("INFO", alias="LOG_LEVEL")

    @field_validator("roles_value")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        names = _role_names(value)
        if not names or not names <= {role.value for role in Role}:
            raise ValueError(f"a comma-separated subset of {ALL_ROLES}")
        return value

    @field_validator("preferences_url")
    @classmethod
    def _web_link(cls, value: str) -> str:
        # Checked at startup: a bad link would otherwise make every email unsendable.
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("an http(s) URL, or empty for no link")
        return value

    @cached_property
    def roles(self) -> frozenset[Role]:
        """This process's roles; NOTIFIER_DISPATCH_ENABLED=false still removes the dispatcher."""
        roles = frozenset(Role(name) for name in _role_names(self.roles_value))
        return roles if self.dispatch_enabled else roles - {Role.DISPATCHER}

    @cached_property
    def link_signing_keys(self) -> list[str]:
        keys = [key.strip() for key in self.link_signing_keys_value.split(",") if key.strip()]
        return keys or [self.api_token]

    @cached_property
    def retention(self) -> RetentionPolicy:
        return RetentionPolicy(
            inbox_days=self.retention_inbox_days,
            deliveries_days=self.retention_deliveries_days,
            reads_days=self.retention_reads_days,
            batch_size=self.prune_batch_size,
        )

    @cached_property
    def effective_smtp_tls(self) -> SmtpTls:
        if self.smtp_starttls is None or "smtp_tls" in self.model_fields_set:
            return self.smtp_tls
        return SmtpTls.REQUIRED if self.smtp_starttls else SmtpTls.OPPORTUNISTIC

    def unsafe_secrets(self) -> list[str]:
        """Why the secrets this process serves with are not fit, naming each variable."""
        return [
            f"{name} {reason}"
            for name, value in self._secrets()
            if (reason := _weakness(value)) is not None
        ]

    def _secrets(self) -> list[tuple[str, str]]:
        # Every role serves /metrics; only the API role takes the API token and link keys.
        secrets: list[tuple[str, str]] = []
        if Role.API in self.roles:
            secrets.append(("NOTIFIER_API_TOKEN", self.api_token))
        if Role.API in self.roles and self.link_signing_keys_value.strip():
            secrets += [("NOTIFIER_LINK_SIGNING_KEYS", key) for key in self.link_signing_keys]
        if self.metrics_token:
            secrets.append(("NOTIFIER_METRICS_TOKEN", self.metrics_token))
        return secrets

    @cached_property
    def dead_letter_exchange(self) -> str:
        return self.dead_letter_exchange_name or f"{self.queue}.dlx"

    @cached_property
    def dead_letter_queue(self) -> str:
        return self.dead_letter_queue_name or f"{self.queue}.dlq"

    @cached_property
    def retry_queue_prefix(self) -> str:
        return self.retry_queue_prefix_name or f"{self.queue}.retry"


def _role_names(value: str) -> set[str]:
    return {name.strip() for name in value.split(",") if name.strip()}


MIN_SECRET_LENGTH = 32
_PLACEHOLDERS = ("change-me", "changeme")


def _weakness(value: str) -> str | None:
    if len(value) < MIN_SECRET_LENGTH:
        return f"must be at least {MIN_SECRET_LENGTH} characters (it has {len(value)})"
    if any(placeholder in value.lower() for placeholder in _PLACEHOLDERS):
        return "is a placeholder (CHANGE-ME): set a random value"
    return None
