"""Operator tools for the dead-letter queue: list and re-drive.

Listing takes every message without acknowledging it, hands each on as it
comes (nothing is collected), and then closes the channel, which puts them all
back; the DLQ is a classic queue, so this never counts towards a delivery limit.
Replay publishes a message back onto the main queue (without our reason and
attempt headers) with publisher confirms, and only then acknowledges it on the DLQ.
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


async def _drain(
    channel: aio_pika.abc.AbstractChannel, queue_name: str
) -> list[AbstractIncomingMessage]:
    queue = await channel.get_queue(queue_name, ensure=True)
    taken: list[AbstractIncomingMessage] = []
    while (message := await queue.get(no_ack=False, fail=False)) is not None:
        taken.append(message)
    return taken


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
    """Re-drive one message (by message id) or all of them; returns the ids replayed."""
    report = progress or NoProgress()
    connection = await aio_pika.connect(amqp_url)
    replayed: list[str] = []
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        taken = await _drain(channel, topology.dead_letter_queue.name)
        report.started(len(taken))
        for message in taken:
            report.advanced(1)
            if message_id is not None and message.message_id != message_id:
                continue
            headers = {
                k: v for k, v in (message.headers or {}).items() if k not in CONSUMER_HEADERS
            }
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
                routing_key=topology.queue.name,
            )
            await message.ack()
            replayed.append(message.message_id or "")
        await channel.close()
    return replayed
