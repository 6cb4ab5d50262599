"""The alternatives our figures are compared with, measured on the same broker in the same run.

- kombu with ``confirm_publish``: one blocking confirm round trip per message, what a
  Django project gets from ``Producer.publish`` when it asks the broker to confirm;
- raw aio-pika with publisher confirms and a window of outstanding publishes, the
  fastest safe publisher a hand-written asyncio client gets;
- raw FastStream: a subscriber that parses each message's JSON and acknowledges it,
  the ceiling of any consumer built on it (``FASTSTREAM_MEASURES`` says exactly what
  it does; bench/BASELINES.md how it was chosen);
- raw httpx: a loop of signed POSTs, and raw aiosmtplib: a loop of sends, the
  ceilings of the notifier's two channels against the same receiver and sink.

Each function publishes to (or consumes from) names it is given, so the baselines
never touch the platform's own exchange and queues. The consumer and client
baselines run in a fresh process of their own (``in_fresh_process``), so that
nothing else shares their event loop, their interpreter or their imports.
"""

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import math
import multiprocessing
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from notices_contracts import AmqpProperties, NoticeReadV1, amqp_properties, build_event

Message = tuple[bytes, AmqpProperties]
T = TypeVar("T")

# Prefetch 32 left the consumer waiting on the broker (bench/BASELINES.md).
FASTSTREAM_PREFETCH = 256
FASTSTREAM_MEASURES = (
    "one FastStream subscriber alone in a fresh process, prefetch {prefetch}, no logger,"
    " `body: bytes` + json.loads, AckPolicy.ACK (one basic.ack per message after its"
    " handler), consuming {count:,} persistent notice.read CloudEvents pre-filled into a"
    " quorum queue; timed from the first message to the last handled"
)
# httpcore's pool does bookkeeping over all its connections for every request, so
# several small clients beat one large one (as the notifier's webhook channel does).
CONNECTIONS_PER_HTTPX_CLIENT = 5


def broker_user(amqp_url: str) -> str:
    """The broker user of ``amqp_url``: what a message published over it gives as ``user_id``.

    RabbitMQ refuses a ``user_id`` other than the connection's, and the notifier
    dead-letters an event without its trusted publisher's (notifier/trust.py), so
    every publisher here sets it, as the relay does.
    """
    return unquote(urlsplit(amqp_url).username or "guest")


def persistent_message(body: bytes, props: AmqpProperties, *, user_id: str) -> Any:
    """An aio-pika message with the contract's AMQP properties, persistent, from ``user_id``."""
    import aio_pika

    return aio_pika.Message(
        body,
        content_type=props.content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=props.message_id,
        type=props.type,
        correlation_id=props.correlation_id,
        headers=props.headers,
        timestamp=props.timestamp,
        user_id=user_id,
    )


def in_fresh_process(function: Callable[..., T], /, **kwargs: Any) -> T:
    """``function(**kwargs)`` in a spawned process of its own (a module-level function)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result: T = pool.apply(function, kwds=kwargs)
    return result


def kombu_one_confirm_per_message(
    amqp_url: str, exchange: str, messages: Sequence[Message]
) -> float:
    """Seconds to publish ``messages`` with kombu, waiting for each confirm in turn."""
    from kombu import Connection, Exchange

    with Connection(amqp_url, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer(exchange=Exchange(exchange, "topic", durable=True))
        started = time.perf_counter()
        for body, props in messages:
            producer.publish(
                body,
                **kombu_publish_options(props, user_id=broker_user(amqp_url)),
                mandatory=True,
                retry=False,
            )
        return time.perf_counter() - started


def kombu_publish_options(props: AmqpProperties, *, user_id: str) -> dict[str, Any]:
    """``Producer.publish`` keywords for a message with the contract's AMQP properties,
    published by ``user_id``."""
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
        "user_id": user_id,
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
                    persistent_message(body, props, user_id=broker_user(amqp_url)),
                    routing_key=props.routing_key,
                    mandatory=True,
                )

        started = time.perf_counter()
        await asyncio.gather(*(publish(body, props) for body, props in messages))
        return time.perf_counter() - started


def read_events(count: int) -> list[Message]:
    """``count`` valid ``notice.read`` CloudEvents with their AMQP properties."""
    messages = []
    for _ in range(count):
        notice_id = uuid.uuid4()
        data = NoticeReadV1(notice_id=notice_id, user_id=uuid.uuid4(), read_at=datetime.now(UTC))
        event = build_event(
            event_id=uuid.uuid4(), subject=str(notice_id), time=datetime.now(UTC), data=data
        )
        messages.append((event.to_json_bytes(), amqp_properties(event)))
    return messages


async def fill_quorum_queue(amqp_url: str, *, queue_name: str, count: int) -> None:
    """Declare ``queue_name`` (quorum, durable), empty it, then publish ``count`` events.

    Persistent ``notice.read`` CloudEvents with the contract's properties, each one
    confirmed (a window of 500): the notifier's queue holds the same messages.
    """
    import aio_pika

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(
            queue_name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.purge()
        slots = asyncio.Semaphore(500)

        async def publish(body: bytes, props: AmqpProperties) -> None:
            async with slots:
                await channel.default_exchange.publish(
                    persistent_message(body, props, user_id=broker_user(amqp_url)),
                    routing_key=queue_name,
                )

        await asyncio.gather(*(publish(body, props) for body, props in read_events(count)))


def faststream_consume_and_ack(amqp_url: str, *, queue_name: str, count: int) -> float:
    """Messages/s of the raw FastStream consumer (``FASTSTREAM_MEASURES``), in its process."""
    return in_fresh_process(
        _faststream_consume_and_ack, amqp_url=amqp_url, queue_name=queue_name, count=count
    )


def _faststream_consume_and_ack(*, amqp_url: str, queue_name: str, count: int) -> float:
    asyncio.run(fill_quorum_queue(amqp_url, queue_name=queue_name, count=count))
    return asyncio.run(_consume_and_ack(amqp_url, queue_name=queue_name, count=count))


async def _consume_and_ack(amqp_url: str, *, queue_name: str, count: int) -> float:
    from faststream import AckPolicy
    from faststream.rabbit import Channel, QueueType, RabbitBroker, RabbitQueue

    queue = RabbitQueue(queue_name, queue_type=QueueType.QUORUM, durable=True)
    broker = RabbitBroker(
        amqp_url, default_channel=Channel(prefetch_count=FASTSTREAM_PREFETCH), logger=None
    )
    consumed = 0
    first_at = 0.0
    done = asyncio.Event()

    # ``body: bytes``, not ``message: RabbitMessage``: FastStream 0.7 resolves a Context
    # argument through a worker thread for every message, which halves the rate.
    @broker.subscriber(queue, ack_policy=AckPolicy.ACK)
    async def parse_and_ack(body: bytes) -> None:
        nonlocal consumed, first_at
        json.loads(body)
        first_at = first_at or time.perf_counter()
        consumed += 1
        if consumed == count:
            done.set()

    await broker.start()
    await done.wait()
    elapsed = time.perf_counter() - first_at
    await broker.stop()
    return count / elapsed


def httpx_signed_posts(*, urls: Sequence[str], secret: str, body: bytes, concurrency: int) -> float:
    """POSTs/s of ``concurrency`` httpx senders, one Standard Webhooks-signed POST per URL.

    Raw: no address guard, no response classification, no ledger; the connections
    spread over clients of ``CONNECTIONS_PER_HTTPX_CLIENT``. Every answer must be 2xx.
    """
    return in_fresh_process(
        _httpx_signed_posts, urls=list(urls), secret=secret, body=body, concurrency=concurrency
    )


def _httpx_signed_posts(*, urls: list[str], secret: str, body: bytes, concurrency: int) -> float:
    return asyncio.run(_post_all(urls=urls, secret=secret, body=body, concurrency=concurrency))


async def _post_all(*, urls: list[str], secret: str, body: bytes, concurrency: int) -> float:
    import httpx

    key = base64.b64decode(secret.removeprefix("whsec_"))
    per_client = min(concurrency, CONNECTIONS_PER_HTTPX_CLIENT)
    clients = [
        httpx.AsyncClient(
            limits=httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client),
            headers={"content-type": "application/cloudevents+json"},
        )
        for _ in range(math.ceil(concurrency / per_client))
    ]
    pending = iter(urls)
    failures: list[int] = []

    async def sender(client: Any) -> None:
        for url in pending:
            webhook_id, timestamp = str(uuid.uuid4()), str(int(time.time()))
            digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256)
            headers = {
                "webhook-id": webhook_id,
                "webhook-timestamp": timestamp,
                "webhook-signature": "v1," + base64.b64encode(digest.digest()).decode(),
            }
            response = await client.post(url, content=body, headers=headers)
            if not response.is_success:
                failures.append(response.status_code)

    started = time.perf_counter()
    senders = itertools.islice(itertools.cycle(clients), concurrency)
    await asyncio.gather(*(sender(client) for client in senders))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.aclose()
    if failures:
        raise RuntimeError(f"{len(failures)} webhook POSTs were not answered 2xx: {failures[:5]}")
    return len(urls) / elapsed


def aiosmtplib_sends(
    *, port: int, message: bytes, recipients: Sequence[str], concurrency: int
) -> float:
    """Mails/s of ``concurrency`` aiosmtplib connections sending ``message`` once to each
    recipient (one mail transaction each), timed once every connection is open.

    Raw: the mail is composed once, up front; no pool, no classification, no ledger.
    """
    return in_fresh_process(
        _aiosmtplib_sends,
        port=port,
        message=message,
        recipients=list(recipients),
        concurrency=concurrency,
    )


def _aiosmtplib_sends(
    *, port: int, message: bytes, recipients: list[str], concurrency: int
) -> float:
    return asyncio.run(
        _send_all(port=port, message=message, recipients=recipients, concurrency=concurrency)
    )


async def _send_all(*, port: int, message: bytes, recipients: list[str], concurrency: int) -> float:
    import aiosmtplib

    connections = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(concurrency)]
    await asyncio.gather(*(connection.connect() for connection in connections))
    pending = iter(recipients)

    async def sender(connection: aiosmtplib.SMTP) -> None:
        for recipient in pending:
            await connection.sendmail("bench@notices.example", [recipient], message)

    started = time.perf_counter()
    await asyncio.gather(*(sender(connection) for connection in connections))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(connection.quit() for connection in connections))
    return len(recipients) / elapsed
