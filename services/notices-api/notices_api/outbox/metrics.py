"""Prometheus metrics of the outbox relay, served on a port of the relay process."""

from prometheus_client import Counter, Gauge, Histogram, start_http_server

PUBLISHED = Counter("outbox_relay_published", "Events the broker confirmed.")
FAILED_ATTEMPTS = Counter(
    "outbox_relay_failed_attempts",
    "Publishes that failed: returned (unroutable), too_large, invalid (the message's own"
    " failures), nacked or timed_out (the broker's: retried without counting an attempt).",
    ["reason"],
)
PARKED = Counter(
    "outbox_relay_parked", "Events parked as failed (last attempt, too large or invalid)."
)
PARKED_EVENTS = Gauge("outbox_parked_events", "Parked (failed) outbox rows awaiting an operator.")
HELD_EVENTS = Gauge(
    "outbox_held_events", "Pending rows held behind a parked row of their aggregate."
)
HELD_AGGREGATES = Gauge(
    "outbox_held_aggregates", "Aggregates whose later events wait for a parked one (alert > 0)."
)
BROKER_RECONNECTS = Counter("outbox_relay_broker_reconnects", "Broker connections opened.")
BACKLOG = Gauge("outbox_backlog", "Pending outbox rows (all partitions).")
OLDEST_PENDING_AGE = Gauge(
    "outbox_oldest_pending_age_seconds", "Age of the oldest pending outbox row (0 when none)."
)
OWNED_PARTITIONS = Gauge("outbox_relay_owned_partitions", "Partitions this relay owns.")
COMMIT_TO_CONFIRM = Histogram(
    "outbox_commit_to_confirm_seconds",
    "From the event's write in the outbox to the broker's confirm.",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
BATCH_SECONDS = Histogram(
    "outbox_relay_batch_seconds",
    "One batch: claim, publish, confirms, status update.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def serve_metrics(port: int) -> None:
    if port:
        start_http_server(port)
