"""The relay's tuning, read once from env vars ``OUTBOX_RELAY_<FIELD>`` by config.settings.

Kept free of Django imports so the settings module can build it. Exchange, broker
URL and partition count stay plain settings (tests and deployments override them).
Durations are seconds, and their names say so.
"""

from dataclasses import dataclass, fields
from typing import Any, Protocol

ENV_PREFIX = "OUTBOX_RELAY_"


class EnvReader(Protocol):
    """What ``from_env`` needs of the settings' ``env`` (config.env.Env)."""

    def get_value(self, var: str, cast: Any = ..., default: Any = ...) -> Any: ...


@dataclass(frozen=True, slots=True)
class RelaySettings:
    # Rows claimed per batch.
    batch_size: int = 1000
    # Publishes awaiting a broker confirm at once; one aggregate never has more than one.
    confirm_window: int = 500
    # No confirm for this long: the unconfirmed publishes count as failed attempts.
    confirm_timeout_seconds: float = 10.0
    # Failures of the message itself (returned as unroutable) before it is parked.
    # Broker-wide refusals (nack, confirm timeout, lost connection) never count.
    max_attempts: int = 10
    # An encoded envelope larger than this is parked without being sent. Keep it at
    # or below the broker's max_message_size (RabbitMQ 4.x: 16 MiB; 3.x: 128 MiB),
    # which otherwise closes the channel on it, like a lost connection.
    max_message_bytes: int = 16 * 1024 * 1024
    # Backoff of a failed row: jitter(min(cap, base * 2^(attempts-1))).
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 300.0
    # Without a NOTIFY (SQLite, or one lost with a dropped connection) look this often.
    poll_interval_seconds: float = 1.0
    # How often a relay counts its peers, takes free partitions and gives up extra ones.
    rebalance_interval_seconds: float = 2.0
    # First key of the PostgreSQL advisory locks that own partitions (second: partition).
    lock_namespace: int = 1869968482
    # Broker / database reconnect backoff.
    reconnect_base_seconds: float = 0.5
    reconnect_cap_seconds: float = 30.0
    # Prometheus endpoint of the relay process; 0 turns it off.
    metrics_port: int = 9108
    gauge_interval_seconds: float = 5.0
    # Published rows older than this are deleted, prune_batch_size rows per statement.
    retention_seconds: float = 7 * 24 * 3600.0
    prune_interval_seconds: float = 300.0
    prune_batch_size: int = 5000

    @classmethod
    def from_env(cls, env: EnvReader) -> "RelaySettings":
        defaults = cls()
        values: dict[str, Any] = {}
        for field in fields(cls):
            default = getattr(defaults, field.name)
            # Each field's default has the field's type: int, float.
            values[field.name] = env.get_value(
                f"{ENV_PREFIX}{field.name.upper()}", cast=type(default), default=default
            )
        return cls(**values)
