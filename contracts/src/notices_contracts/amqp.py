"""How an envelope travels over AMQP 0-9-1: exchange, routing key, message properties.

The properties mirror the envelope so that brokers, tracing tools and operators
can route and inspect a message without parsing its body. The body stays the
source of truth.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from notices_contracts.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent
from notices_contracts.registry import TYPE_PREFIX

EXCHANGE_NAME = "notices.events"
EXCHANGE_TYPE = "topic"
PERSISTENT_DELIVERY_MODE = 2
TRACEPARENT_HEADER = "traceparent"


def routing_key_for_type(event_type: str) -> str:
    """``notices.notice.published.v1`` -> ``notice.published.v1``."""
    if not event_type.startswith(TYPE_PREFIX):
        raise ValueError(f"event type {event_type!r} does not start with {TYPE_PREFIX!r}")
    return event_type.removeprefix(TYPE_PREFIX)


@dataclass(frozen=True, slots=True)
class AmqpProperties:
    """Client-neutral AMQP basic properties; kombu and aio-pika take these names."""

    message_id: str
    type: str
    timestamp: datetime
    correlation_id: str | None
    content_type: str = CLOUDEVENTS_CONTENT_TYPE
    delivery_mode: int = PERSISTENT_DELIVERY_MODE
    headers: dict[str, Any] = field(default_factory=dict)

    @property
    def routing_key(self) -> str:
        return routing_key_for_type(self.type)


def amqp_properties(event: CloudEvent[Any]) -> AmqpProperties:
    headers = {TRACEPARENT_HEADER: event.traceparent} if event.traceparent else {}
    return AmqpProperties(
        message_id=str(event.id),
        type=event.type,
        timestamp=event.time,
        correlation_id=event.correlationid,
        headers=headers,
    )


@dataclass(frozen=True, slots=True)
class EnvelopeHints:
    """What a consumer can learn from the properties alone, before parsing the body."""

    event_id: str | None
    event_type: str | None
    time: datetime | None
    correlationid: str | None
    traceparent: str | None


def envelope_hints(
    *,
    message_id: str | None,
    type: str | None,
    timestamp: datetime | int | None,
    correlation_id: str | None,
    headers: dict[str, Any] | None,
) -> EnvelopeHints:
    if isinstance(timestamp, int):
        timestamp = datetime.fromtimestamp(timestamp, tz=UTC)
    traceparent = (headers or {}).get(TRACEPARENT_HEADER)
    return EnvelopeHints(
        event_id=message_id,
        event_type=type,
        time=timestamp,
        correlationid=correlation_id,
        traceparent=traceparent if isinstance(traceparent, str) else None,
    )
