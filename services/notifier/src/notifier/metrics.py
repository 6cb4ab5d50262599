"""Prometheus metrics of the notifier (the process-wide default registry)."""

from prometheus_client import Counter, Gauge, Histogram

from notices_contracts.registry import SPECS_BY_TYPE

EVENTS_CONSUMED = Counter(
    "notifier_events_consumed_total", "Events taken off the queue", ["event_type", "outcome"]
)
DEAD_LETTERED = Counter(
    "notifier_dead_lettered_total", "Messages sent to the dead-letter queue", ["reason"]
)
CONSUME_RETRIES = Counter(
    "notifier_consume_retries_total", "Messages sent to a delayed-retry wait queue"
)
DELIVERIES = Counter(
    "notifier_deliveries_total", "Delivery attempts by channel and outcome", ["channel", "outcome"]
)
DISPATCH_LATENCY = Histogram(
    "notifier_dispatch_latency_seconds", "Time of one send attempt", ["channel"]
)
COMMIT_TO_DELIVERY = Histogram(
    "notifier_commit_to_delivery_seconds",
    "From the event's time to the delivery",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
DUE_BACKLOG = Gauge("notifier_due_backlog", "Deliveries due and not yet sent", ["channel"])
CLAIM_OUTCOMES = Counter(
    "notifier_claim_outcomes_total",
    "Due deliveries a claim did not send: cancelled, deferred, or unsendable (failed alone)",
    ["channel", "outcome"],
)

OTHER_EVENT_TYPE = "other"


def event_type_label(event_type: str | None) -> str:
    """A contract's event type, else ``other``: a label value publishers cannot multiply."""
    return event_type if event_type in SPECS_BY_TYPE else OTHER_EVENT_TYPE
