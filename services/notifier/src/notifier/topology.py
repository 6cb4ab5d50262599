"""The notifier's RabbitMQ topology, declared by the service and mirrored in deploy/rabbitmq.

- ``queue``: a durable quorum queue bound to the events exchange for every v1
  routing key the notifier handles. Its dead-letter exchange is a backstop for
  rejected messages (and for RabbitMQ 4.x's default quorum delivery limit).
- Delayed retry: one classic durable wait queue per delay, whose message TTL
  dead-letters the message back to ``queue`` through the default exchange. The
  attempt count travels in our own header, never in ``x-death``, and nothing is
  requeue-nacked, so RabbitMQ 3.10 and 4.x behave alike.
- Dead letters: a direct exchange and a classic durable queue (classic, so that
  inspecting it with ``notifier dlq list`` never counts towards a delivery limit).
"""

from dataclasses import dataclass
from typing import Any

from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue

from notices_contracts import EVENT_SPECS
from notifier.settings import Settings

ATTEMPT_HEADER = "x-notifier-attempt"
REASON_HEADER = "x-notifier-reason"
ERROR_HEADER = "x-notifier-error"
ROUTING_KEY_HEADER = "x-notifier-routing-key"

HANDLED_ROUTING_KEYS: tuple[str, ...] = tuple(spec.routing_key for spec in EVENT_SPECS)


def _delay_name(seconds: float) -> str:
    return f"{seconds:g}s"


@dataclass(frozen=True)
class Topology:
    exchange: RabbitExchange
    queue: RabbitQueue
    dead_letter_exchange: RabbitExchange
    dead_letter_queue: RabbitQueue
    retry_queues: tuple[RabbitQueue, ...]
    routing_keys: tuple[str, ...] = HANDLED_ROUTING_KEYS

    @property
    def max_consume_attempts(self) -> int:
        return len(self.retry_queues) + 1

    def retry_queue_for(self, attempt: int) -> RabbitQueue | None:
        """The wait queue after failed attempt ``attempt`` (from 1), or None when exhausted."""
        return self.retry_queues[attempt - 1] if attempt <= len(self.retry_queues) else None


def build_topology(settings: Settings) -> Topology:
    return Topology(
        exchange=RabbitExchange(settings.exchange, type=ExchangeType.TOPIC, durable=True),
        queue=RabbitQueue(
            settings.queue,
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={
                "x-dead-letter-exchange": settings.dead_letter_exchange,
                "x-dead-letter-routing-key": settings.dead_letter_queue,
            },
        ),
        dead_letter_exchange=RabbitExchange(
            settings.dead_letter_exchange, type=ExchangeType.DIRECT, durable=True
        ),
        dead_letter_queue=RabbitQueue(
            settings.dead_letter_queue, queue_type=QueueType.CLASSIC, durable=True
        ),
        retry_queues=tuple(
            RabbitQueue(
                f"{settings.retry_queue_prefix}.{_delay_name(delay)}",
                queue_type=QueueType.CLASSIC,
                durable=True,
                arguments={
                    "x-message-ttl": round(delay * 1000),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": settings.queue,
                },
            )
            for delay in settings.consume_retry_delays_seconds
        ),
    )


async def declare_topology(broker: RabbitBroker, topology: Topology) -> None:
    exchange = await broker.declare_exchange(topology.exchange)
    queue = await broker.declare_queue(topology.queue)
    for routing_key in topology.routing_keys:
        await queue.bind(exchange, routing_key=routing_key)
    dead_letter_exchange = await broker.declare_exchange(topology.dead_letter_exchange)
    dead_letter_queue = await broker.declare_queue(topology.dead_letter_queue)
    await dead_letter_queue.bind(dead_letter_exchange, routing_key=topology.dead_letter_queue.name)
    for retry_queue in topology.retry_queues:
        await broker.declare_queue(retry_queue)


def definitions(topology: Topology, *, vhost: str = "/") -> dict[str, Any]:
    """The same topology as RabbitMQ definitions (``deploy/rabbitmq/definitions.json``)."""

    def queue(q: RabbitQueue) -> dict[str, Any]:
        arguments = dict(q.arguments or {})
        return {
            "name": q.name,
            "vhost": vhost,
            "durable": True,
            "auto_delete": False,
            "arguments": arguments,
        }

    def exchange(e: RabbitExchange) -> dict[str, Any]:
        return {
            "name": e.name,
            "vhost": vhost,
            "type": e.type.value,
            "durable": True,
            "auto_delete": False,
            "internal": False,
            "arguments": {},
        }

    def binding(source: str, destination: str, routing_key: str) -> dict[str, Any]:
        return {
            "source": source,
            "vhost": vhost,
            "destination": destination,
            "destination_type": "queue",
            "routing_key": routing_key,
            "arguments": {},
        }

    return {
        "vhosts": [{"name": vhost}],
        "exchanges": [exchange(topology.exchange), exchange(topology.dead_letter_exchange)],
        "queues": [
            queue(topology.queue),
            queue(topology.dead_letter_queue),
            *(queue(q) for q in topology.retry_queues),
        ],
        "bindings": [
            *(
                binding(topology.exchange.name, topology.queue.name, key)
                for key in topology.routing_keys
            ),
            binding(
                topology.dead_letter_exchange.name,
                topology.dead_letter_queue.name,
                topology.dead_letter_queue.name,
            ),
        ],
        "policies": [],
    }
