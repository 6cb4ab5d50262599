"""Operator tools for the dead-letter queue: list and re-drive.

Listing takes every message without acknowledging it, hands each on as it
comes (nothing is collected), and then closes the channel, which puts them all
back; the DLQ is a classic queue, so this never counts towards a delivery limit.
Replay streams too: it takes one message, publishes it back onto the main queue
(without our reason and attempt headers) with publisher confirms, and only then
acknowledges it on the DLQ, before it takes the next. Interrupted, it has lost
nothing: a message taken and not yet acknowledged returns to the DLQ.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from notifier.progress import NoProgress, ProgressReport
from notifier.topology import ATTEMPT_HEADER, ERROR_HEADER, REASON_HEADER, Topology

CONSUMER_HEADERS = {ATTEMPT_HEADER, REASON_HEADER, ERROR_HEADER}


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message_id: str | None
    reason: str | None
    error: str | None
    routing_key: str | None
    body: bytes

    @classmethod
    def of(cls, message: AbstractIncomingMessage) -> "DeadLetter":
        headers = message.headers or {}
        return cls(
            message_id=message.message_id,
            reason=_text(headers.get(REASON_HEADER)),
            error=_text(headers.get(ERROR_HEADER)),
            routing_key=_text(headers.get("x-notifier-routing-key")),
            body=message.body,
        )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


async def list_dead_letters(*, amqp_url: str, topology: Topology) -> AsyncIterator[DeadLetter]:
    """Each dead letter as it is taken: a queue of any length lists in one message's memory."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(topology.dead_letter_queue.name, ensure=True)
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            yield DeadLetter.of(message)
        await channel.close()  # returns every unacknowledged message to the queue


async def replay_dead_letters(
    *,
    amqp_url: str,
    topology: Topology,
    message_id: str | None,
    progress: ProgressReport | None = None,
) -> list[str]:
    """Re-drive one message (by message id) or all of them; returns the ids replayed.

    Streams: each message is taken, republished and acknowledged before the next is
    taken, so replay holds one message whatever the queue's length (replaying one id
    passes over the others, which the broker keeps unacknowledged until the channel
    closes). It goes through as many messages as the queue held when it started, so a
    message that is dead-lettered again meanwhile waits for the next replay.
    """
    report = progress or NoProgress()
    connection = await aio_pika.connect(amqp_url)
    replayed: list[str] = []
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        queue = await channel.get_queue(topology.dead_letter_queue.name, ensure=True)
        total = queue.declaration_result.message_count or 0
        report.started(total)
        for _ in range(total):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            if message_id is None or message.message_id == message_id:
                await _republish(channel, message, routing_key=topology.queue.name)
                await message.ack()
                replayed.append(message.message_id or "")
            report.advanced(1)
        await channel.close()  # returns the messages passed over to the queue
    return replayed


async def _republish(
    channel: aio_pika.abc.AbstractChannel, message: AbstractIncomingMessage, *, routing_key: str
) -> None:
    """Publish ``message`` again without our headers; returns once the broker confirms it."""
    headers = {k: v for k, v in (message.headers or {}).items() if k not in CONSUMER_HEADERS}
    await channel.default_exchange.publish(
        aio_pika.Message(
            body=message.body,
            headers=headers,
            content_type=message.content_type,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            type=message.type,
            timestamp=message.timestamp,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=routing_key,
    )
