"""The events subscriber: parse, dedupe through the inbox, dispatch to a handler.

Every message is settled exactly once: acknowledged after its effects committed,
after it was ignored (unknown type or version), or after a copy went to the
dead-letter queue (contract violation, retries exhausted) or to a delayed-retry
wait queue (anything else, e.g. the database being down). Only a failure to
publish that copy leaves the message to FastStream, which rejects it into the
queue's dead-letter exchange.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitMessage, RabbitRouter
from sqlalchemy.ext.asyncio import AsyncSession

from notices_contracts import (
    NOTICE_ARCHIVED_V1,
    NOTICE_PUBLISHED_V1,
    NOTICE_READ_V1,
    RECIPIENT_UPDATED_V1,
    CloudEvent,
    ContractError,
    parse_event,
)
from notifier import metrics
from notifier.handlers.context import EventContext
from notifier.handlers.inbox import record_in_inbox
from notifier.handlers.notices import (
    handle_notice_archived,
    handle_notice_published,
    handle_notice_read,
)
from notifier.handlers.recipients import handle_recipient_updated
from notifier.logging import trace_id_of
from notifier.store.db import SessionFactory
from notifier.topology import (
    ATTEMPT_HEADER,
    ERROR_HEADER,
    REASON_HEADER,
    ROUTING_KEY_HEADER,
    Topology,
)

Clock = Callable[[], datetime]
Handler = Callable[[AsyncSession, CloudEvent[Any], EventContext, datetime], Awaitable[object]]

RETRIES_EXHAUSTED = "retries_exhausted"
MAX_ERROR_HEADER_LENGTH = 1000

HANDLERS: dict[str, Handler] = {
    RECIPIENT_UPDATED_V1.type: lambda session, event, context, now: handle_recipient_updated(
        session, data=event.data, context=context, now=now
    ),
    NOTICE_PUBLISHED_V1.type: lambda session, event, context, now: handle_notice_published(
        session, data=event.data, context=context, now=now
    ),
    NOTICE_READ_V1.type: lambda session, event, context, now: handle_notice_read(
        session, data=event.data, context=context, now=now
    ),
    NOTICE_ARCHIVED_V1.type: lambda session, event, context, now: handle_notice_archived(
        session, data=event.data, context=context, now=now
    ),
}

logger = structlog.get_logger("notifier.consumer")


def utc_now() -> datetime:
    return datetime.now(UTC)


class EventConsumer:
    def __init__(
        self,
        *,
        broker: RabbitBroker,
        topology: Topology,
        session_factory: SessionFactory,
        clock: Clock = utc_now,
        on_committed: Callable[[], None] = lambda: None,
    ) -> None:
        self._broker = broker
        self._topology = topology
        self._session_factory = session_factory
        self._clock = clock
        self._on_committed = on_committed

    async def consume(self, message: RabbitMessage) -> None:
        body = message.body
        log = logger.bind(
            message_id=message.message_id, routing_key=message.raw_message.routing_key
        )
        try:
            event = parse_event(body)
        except ContractError as error:
            if error.is_unknown_event:
                metrics.EVENTS_CONSUMED.labels(message.raw_message.type or "?", "ignored").inc()
                log.info("event_ignored", reason=error.code.value, detail=error.detail)
                return
            await self._dead_letter(message, reason=error.code.value, error=error.detail)
            return

        log = log.bind(
            event_id=str(event.id),
            event_type=event.type,
            correlationid=event.correlationid,
            trace_id=trace_id_of(event.traceparent),
        )
        try:
            handled = await self._handle(event, body)
        except Exception as error:
            log.warning("event_failed", error=repr(error), attempt=_attempt(message))
            await self._retry_later(message, error=error)
            return
        metrics.EVENTS_CONSUMED.labels(event.type, "handled" if handled else "duplicate").inc()
        log.info("event_handled" if handled else "event_duplicate")
        if handled:
            self._on_committed()

    async def _handle(self, event: CloudEvent[Any], body: bytes) -> bool:
        context = EventContext.of(event, body)
        now = self._clock()
        async with self._session_factory.begin() as session:
            if not await record_in_inbox(session, context=context, now=now):
                return False
            await HANDLERS[event.type](session, event, context, now)
        return True

    async def _retry_later(self, message: RabbitMessage, *, error: Exception) -> None:
        attempt = _attempt(message)
        wait_queue = self._topology.retry_queue_for(attempt)
        if wait_queue is None:
            await self._dead_letter(message, reason=RETRIES_EXHAUSTED, error=repr(error))
            return
        metrics.CONSUME_RETRIES.inc()
        await self._republish(
            message,
            exchange=None,
            routing_key=wait_queue.name,
            headers={ATTEMPT_HEADER: attempt + 1},
        )

    async def _dead_letter(self, message: RabbitMessage, *, reason: str, error: str) -> None:
        metrics.DEAD_LETTERED.labels(reason).inc()
        logger.error(
            "message_dead_lettered",
            message_id=message.message_id,
            reason=reason,
            error=error,
        )
        await self._republish(
            message,
            exchange=self._topology.dead_letter_exchange.name,
            routing_key=self._topology.dead_letter_queue.name,
            headers={REASON_HEADER: reason, ERROR_HEADER: error[:MAX_ERROR_HEADER_LENGTH]},
        )

    async def _republish(
        self,
        message: RabbitMessage,
        *,
        exchange: str | None,
        routing_key: str,
        headers: dict[str, Any],
    ) -> None:
        raw = message.raw_message
        kept = dict(message.headers or {})
        kept.setdefault(ROUTING_KEY_HEADER, raw.routing_key or "")
        await self._broker.publish(
            message.body,
            exchange=exchange,
            routing_key=routing_key,
            headers={**kept, **headers},
            message_id=message.message_id,
            correlation_id=raw.correlation_id,
            content_type=message.content_type,
            message_type=raw.type,
            timestamp=raw.timestamp,
            persist=True,
        )


def _attempt(message: RabbitMessage) -> int:
    value = (message.headers or {}).get(ATTEMPT_HEADER, 1)
    return value if isinstance(value, int) and value >= 1 else 1


def build_events_router(*, topology: Topology, consumer: EventConsumer) -> RabbitRouter:
    router = RabbitRouter()

    @router.subscriber(
        topology.queue,
        ack_policy=AckPolicy.REJECT_ON_ERROR,
        title="notifier.events",
        description="Every v1 notices event the notifier handles.",
    )
    async def on_event(message: RabbitMessage) -> None:
        await consumer.consume(message)

    return router
