"""The alternatives our figures are compared with, measured on the same broker in the same run.

- kombu with ``confirm_publish``: one blocking confirm round trip per message, what a
  Django project gets from ``Producer.publish`` when it asks the broker to confirm;
- raw aio-pika with publisher confirms and a window of outstanding publishes, the
  fastest safe publisher a hand-written asyncio client gets;
- raw FastStream: a subscriber that only acknowledges, the ceiling of any consumer
  built on it.

Each function publishes to (or consumes from) names it is given, so the baselines
never touch the platform's own exchange and queues.
"""

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from notices_contracts import AmqpProperties

Message = tuple[bytes, AmqpProperties]


def kombu_one_confirm_per_message(
    amqp_url: str, exchange: str, messages: Sequence[Message]
) -> float:
    """Seconds to publish ``messages`` with kombu, waiting for each confirm in turn."""
    from kombu import Connection, Exchange

    with Connection(amqp_url, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer(exchange=Exchange(exchange, "topic", durable=True))
        started = time.perf_counter()
        for body, props in messages:
            producer.publish(body, **kombu_publish_options(props), mandatory=True, retry=False)
        return time.perf_counter() - started


def kombu_publish_options(props: AmqpProperties) -> dict[str, Any]:
    """``Producer.publish`` keywords for a message with the contract's AMQP properties."""
    return {
        "routing_key": props.routing_key,
        "content_type": props.content_type,
        "content_encoding": "binary",
        "delivery_mode": props.delivery_mode,
        "message_id": props.message_id,
        "type": props.type,
        "correlation_id": props.correlation_id,
        "headers": props.headers,
        "timestamp": int(props.timestamp.timestamp()),
    }


async def aio_pika_windowed(
    amqp_url: str, exchange_name: str, messages: Sequence[Message], window: int
) -> float:
    """Seconds to publish ``messages`` with aio-pika, at most ``window`` confirms outstanding."""
    import aio_pika

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(exchange_name)
        slots = asyncio.Semaphore(window)

        async def publish(body: bytes, props: AmqpProperties) -> None:
            async with slots:
                await exchange.publish(
                    aio_pika.Message(
                        body,
                        content_type=props.content_type,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        message_id=props.message_id,
                        type=props.type,
                        correlation_id=props.correlation_id,
                        headers=props.headers,
                        timestamp=props.timestamp,
                    ),
                    routing_key=props.routing_key,
                    mandatory=True,
                )

        started = time.perf_counter()
        await asyncio.gather(*(publish(body, props) for body, props in messages))
        return time.perf_counter() - started


async def faststream_consume_and_ack(
    amqp_url: str, *, queue_name: str, count: int, prefetch: int
) -> float:
    """Messages/s of a raw FastStream subscriber that only acknowledges ``count`` messages.

    The messages are published to the (quorum) queue first, so only consuming is timed.
    """
    import aio_pika
    from faststream import AckPolicy
    from faststream.rabbit import Channel, QueueType, RabbitBroker, RabbitMessage, RabbitQueue

    queue = RabbitQueue(queue_name, queue_type=QueueType.QUORUM, durable=True)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue.name, durable=True, arguments={"x-queue-type": "quorum"})
        body = b'{"specversion": "1.0"}' * 20
        for _ in range(count):
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue.name)

    # Per-message log lines off, as in the notifier's broker.
    broker = RabbitBroker(
        amqp_url, default_channel=Channel(prefetch_count=prefetch), log_level=logging.DEBUG
    )
    consumed = 0
    done = asyncio.Event()

    @broker.subscriber(queue, ack_policy=AckPolicy.ACK)
    async def ack_only(message: RabbitMessage) -> None:
        nonlocal consumed
        consumed += 1
        if consumed == count:
            done.set()

    started = time.perf_counter()
    await broker.start()
    await done.wait()
    elapsed = time.perf_counter() - started
    await broker.stop()
    return count / elapsed
