"""What a handler knows of the event it handles, beyond its data."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from notices_contracts import CloudEvent


@dataclass(frozen=True, slots=True)
class EventContext:
    event_id: UUID
    event_type: str
    time: datetime
    correlationid: str | None
    traceparent: str | None
    body: bytes  # the CloudEvent as received: the webhook payload

    @classmethod
    def of(cls, event: CloudEvent[Any], body: bytes) -> "EventContext":
        return cls(
            event_id=event.id,
            event_type=event.type,
            time=event.time,
            correlationid=event.correlationid,
            traceparent=event.traceparent,
            body=body,
        )


DataT = TypeVar("DataT")


@dataclass(frozen=True, slots=True)
class Received(Generic[DataT]):
    """One event of a batch: its validated data and its context."""

    data: DataT
    context: EventContext
