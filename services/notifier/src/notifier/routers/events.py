"""The events subscriber: parse, batch, dedupe through the inbox, hand to the handlers.

Messages are acknowledged by hand (``AckPolicy.MANUAL``). The subscriber only
queues each message; one batcher takes everything that arrived while the previous
batch was written (up to ``batch_size``) and handles it in one transaction: the
inbox inserts and every effect, then it acknowledges them all at once: one
``basic.ack`` with ``multiple`` on the batch's last delivery. That is safe because
the subscriber has a channel of its own, FastStream hands it the deliveries in the
channel's order, and every earlier delivery was settled already (earlier batches,
and this batch's messages that held no event). If the batch
fails, each of its events is tried alone in a transaction of its own, so a poison
message never takes its neighbours with it.

Every message is settled exactly once: acknowledged after its effects committed,
after it was ignored (unknown type or version), or after a copy went to the
dead-letter queue (contract violation, retries exhausted) or to a delayed-retry
wait queue (anything else, e.g. the database being down). A message whose copy
could not be published is rejected into the queue's dead-letter exchange. A
process that dies holds no acknowledged-but-unwritten message: the broker
redelivers what it had not acknowledged, and the inbox makes that harmless.
"""

import asyncio
import contextlib
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from aio_pika.exceptions import ChannelInvalidStateError
from faststream import AckPolicy
from faststream.message import StreamMessage
from faststream.rabbit import Channel, RabbitBroker, RabbitMessage, RabbitRouter

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
from notifier.handlers.context import EventContext, Received
from notifier.handlers.inbox import record_in_inbox
from notifier.handlers.notices import (
    handle_notice_archived,
    handle_notice_published,
    handle_notice_read,
)
from notifier.handlers.recipients import handle_recipient_updated
from notifier.ledger.creation import LedgerChange
from notifier.logging import trace_id_of
from notifier.store.db import SessionFactory
from notifier.store.wakeups import OnDue
from notifier.telemetry import consume_batch_span
from notifier.topology import (
    ATTEMPT_HEADER,
    ERROR_HEADER,
    REASON_HEADER,
    ROUTING_KEY_HEADER,
    Topology,
)
from notifier.trust import UNTRUSTED_PUBLISHER, TrustedPublisher

Clock = Callable[[], datetime]
Handler = Callable[..., Awaitable[LedgerChange]]

RETRIES_EXHAUSTED = "retries_exhausted"
MAX_ERROR_HEADER_LENGTH = 1000

# In this order within a batch: recipients first, so that the exclusive audience lock
# comes before any shared one (see ``handlers.notices.lock_audiences``).
HANDLERS: dict[str, Handler] = {
    RECIPIENT_UPDATED_V1.type: handle_recipient_updated,
    NOTICE_PUBLISHED_V1.type: handle_notice_published,
    NOTICE_READ_V1.type: handle_notice_read,
    NOTICE_ARCHIVED_V1.type: handle_notice_archived,
}

logger = structlog.get_logger("notifier.consumer")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Parsed:
    message: RabbitMessage
    event: CloudEvent[Any]
    context: EventContext


class EventConsumer:
    def __init__(
        self,
        *,
        broker: RabbitBroker,
        topology: Topology,
        session_factory: SessionFactory,
        trust: TrustedPublisher,
        clock: Clock = utc_now,
        on_deliveries_created: OnDue = lambda _channels: None,
        batch_size: int = 100,
    ) -> None:
        self._broker = broker
        self._topology = topology
        self._session_factory = session_factory
        self._trust = trust
        self._clock = clock
        self._on_deliveries_created = on_deliveries_created
        self._batch_size = batch_size
        self._arrived: asyncio.Queue[RabbitMessage] = asyncio.Queue()
        self._batcher: asyncio.Task[None] | None = None

    async def receive(self, message: RabbitMessage) -> None:
        """Queue one message for the next batch; the subscriber's whole job."""
        if self._batcher is None or self._batcher.done():
            self._batcher = asyncio.create_task(self._run(), name="consume-batcher")
        self._arrived.put_nowait(message)

    def current_message(self) -> RabbitMessage:
        """The message the subscriber is being called with."""
        message: RabbitMessage = self._broker.context.get_local("message")
        return message

    async def settled(self) -> None:
        """Until every message received so far is settled (tests, and a graceful stop)."""
        await self._arrived.join()

    async def aclose(self) -> None:
        if self._batcher is not None:
            self._batcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._batcher

    async def _run(self) -> None:
        while True:
            batch = [await self._arrived.get()]
            while len(batch) < self._batch_size and not self._arrived.empty():
                batch.append(self._arrived.get_nowait())
            try:
                with consume_batch_span(batch):
                    await self.consume(batch)
            except Exception:
                # Never reached by design (each message is settled above); a bug must not
                # stop the batcher, and unsettled messages come back when the channel closes.
                logger.exception("consume_batch_crashed", messages=len(batch))
            finally:
                for _ in batch:
                    self._arrived.task_done()

    async def consume(self, messages: Sequence[RabbitMessage]) -> None:
        """Settle every message of one batch."""
        parsed: list[_Parsed] = []
        for message in messages:
            item = await self._parse(message)
            if item is not None:
                parsed.append(item)
        if not parsed:
            return
        try:
            handled, change = await self._handle(parsed)
        except Exception:
            logger.warning("consume_batch_failed", events=len(parsed), exc_info=True)
            handled, change = set(), LedgerChange()
            for item in parsed:
                try:
                    item_handled, item_change = await self._handle([item])
                    handled |= item_handled
                    change += item_change
                except Exception as error:
                    logger.warning(
                        "event_failed",
                        error=repr(error),
                        attempt=_attempt(item.message),
                        **self._log_fields(item),
                    )
                    await self._settle(item.message, self._retry_later(item.message, error=error))
                    continue
                await self._ack_handled(item, item.event.id in handled)
        else:
            await self._ack_batch(parsed, handled)
        if change.created:  # committed by now; reads without subscribers create nothing
            self._on_deliveries_created(change.channels)

    async def _parse(self, message: RabbitMessage) -> _Parsed | None:
        """The event, or None once a message that holds none is settled."""
        try:
            event = parse_event(message.body)
        except ContractError as error:
            if error.is_unknown_event:
                metrics.EVENTS_CONSUMED.labels(
                    metrics.event_type_label(message.raw_message.type), "ignored"
                ).inc()
                logger.info(
                    "event_ignored",
                    message_id=message.message_id,
                    reason=error.code.value,
                    detail=error.detail,
                )
                await message.ack()
            else:
                await self._settle(
                    message, self._dead_letter(message, reason=error.code.value, error=error.detail)
                )
            return None
        refusal = self._trust.refusal(user_id=message.raw_message.user_id, source=event.source)
        if refusal is not None:
            dead_letter = self._dead_letter(message, reason=UNTRUSTED_PUBLISHER, error=refusal)
            await self._settle(message, dead_letter)
            return None
        return _Parsed(message, event, EventContext.of(event, message.body))

    async def _handle(self, items: Sequence[_Parsed]) -> tuple[set[Any], LedgerChange]:
        """One transaction: the inbox and the effects of every new event; returns their ids
        and what the effects changed in the ledger."""
        now = self._clock()
        change = LedgerChange()
        unique = list({item.event.id: item for item in items}.values())
        async with self._session_factory.begin() as session:
            new = await record_in_inbox(session, contexts=[i.context for i in unique], now=now)
            by_type: defaultdict[str, list[Received[Any]]] = defaultdict(list)
            for item in unique:
                if item.event.id in new:
                    by_type[item.event.type].append(Received(item.event.data, item.context))
            for event_type, handler in HANDLERS.items():
                if by_type[event_type]:
                    change += await handler(session, events=by_type[event_type], now=now)
        return new, change

    async def _ack_handled(self, item: _Parsed, handled: bool) -> None:
        self._count_outcomes([item], {item.event.id} if handled else set())
        await item.message.ack()

    async def _ack_batch(self, items: Sequence[_Parsed], handled: set[Any]) -> None:
        """Acknowledge a committed batch: one multiple-ack when its deliveries share a channel."""
        self._count_outcomes(items, handled)
        channels = {_channel_of(item.message) for item in items}
        if len(channels) > 1:  # a reconnect within the batch: tags of two channels
            for item in items:
                await item.message.ack()
            return
        last = max(items, key=lambda item: item.message.raw_message.delivery_tag or 0)
        await last.message.ack(multiple=True)

    def _count_outcomes(self, items: Sequence[_Parsed], handled: set[Any]) -> None:
        """Metrics per (type, outcome) once per batch; a line per event at DEBUG only."""
        outcomes: Counter[tuple[str, str]] = Counter()
        for item in items:
            outcome = "handled" if item.event.id in handled else "duplicate"
            outcomes[item.event.type, outcome] += 1
            logger.debug(f"event_{outcome}", **self._log_fields(item))
        for (event_type, outcome), count in outcomes.items():
            metrics.EVENTS_CONSUMED.labels(event_type, outcome).inc(count)
        logger.info(
            "events_consumed",
            events=len(items),
            handled=sum(n for (_, outcome), n in outcomes.items() if outcome == "handled"),
            duplicates=sum(n for (_, outcome), n in outcomes.items() if outcome == "duplicate"),
        )

    @staticmethod
    def _log_fields(item: _Parsed) -> dict[str, Any]:
        return {
            "message_id": item.message.message_id,
            "routing_key": item.message.raw_message.routing_key,
            "event_id": str(item.event.id),
            "event_type": item.event.type,
            "correlationid": item.event.correlationid,
            "trace_id": trace_id_of(item.event.traceparent),
        }

    async def _settle(self, message: RabbitMessage, republish: Awaitable[None]) -> None:
        """Acknowledge once the copy is out; reject (to the queue's DLX) if it could not go."""
        try:
            await republish
        except Exception:
            logger.exception("republish_failed", message_id=message.message_id)
            await message.reject(requeue=False)
            return
        await message.ack()

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
            user_id=self._trust.own_user_id,  # a retried copy is the notifier's own
        )


def _channel_of(message: RabbitMessage) -> int | None:
    """Which channel delivered ``message`` (None: closed since, so its ack fails anyway)."""
    try:
        return id(message.raw_message.channel)
    except ChannelInvalidStateError:
        return None


def _attempt(message: RabbitMessage) -> int:
    value = (message.headers or {}).get(ATTEMPT_HEADER, 1)
    return value if isinstance(value, int) and value >= 1 else 1


async def _undecoded(message: StreamMessage[Any]) -> bytes:
    """The body as it came: ``parse_event`` decodes it, and no content type can make
    FastStream's own decoding fail the handler's ``bytes`` argument (which would leave
    the message unsettled under manual acks)."""
    return message.body


def build_events_router(
    *, topology: Topology, consumer: EventConsumer, prefetch: int
) -> RabbitRouter:
    router = RabbitRouter()

    @router.subscriber(
        topology.queue,
        # A channel no other subscriber shares: the batch's multiple-ack covers every
        # earlier unacknowledged delivery of its channel (``EventConsumer._ack_batch``).
        channel=Channel(prefetch_count=prefetch, on_return_raises=True),
        ack_policy=AckPolicy.MANUAL,
        title="notifier.events",
        description="Every v1 notices event the notifier handles.",
        decoder=_undecoded,
    )
    async def on_event(body: bytes) -> None:
        # The message is read from FastStream's context rather than injected as a
        # ``RabbitMessage`` argument: fast_depends resolves such an argument through a
        # worker thread per message, which cost ~40% of the consumer's CPU per message
        # (0.31 vs 0.18 ms, see docs/performance.md). ``body`` itself is not used.
        await consumer.receive(consumer.current_message())

    return router
