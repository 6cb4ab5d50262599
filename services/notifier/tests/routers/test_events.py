"""The events subscriber through FastStream's TestRabbitBroker: parse, dedupe, DLQ, retry."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from faststream.rabbit import RabbitBroker, RabbitMessage, TestRabbitBroker
from notifier_testing import FakeClock, NoticeSpec, envelope, recipient_updated, wire_bytes
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from notices_contracts import RECIPIENT_UPDATED_V1
from notifier.routers.events import HANDLERS, EventConsumer, build_events_router
from notifier.settings import Settings
from notifier.store.db import SessionFactory
from notifier.store.models import Channel, Delivery, InboxEvent, Recipient
from notifier.topology import ATTEMPT_HEADER, ERROR_HEADER, REASON_HEADER, Topology, build_topology
from notifier.trust import UNTRUSTED_PUBLISHER, TrustedPublisher

TRUSTED = TrustedPublisher.of(
    user_id=None, source=Settings().trusted_source, amqp_url=Settings().amqp_url
)


@dataclass
class Bus:
    broker: RabbitBroker
    topology: Topology
    consumer: EventConsumer
    dead: list[RabbitMessage] = field(default_factory=list)
    waiting: dict[str, list[RabbitMessage]] = field(default_factory=dict)
    woken: list[frozenset[Channel]] = field(default_factory=list)

    async def publish(self, body: bytes, **properties: Any) -> None:
        """Publish, then wait until the consumer's batcher settled it."""
        properties.setdefault("user_id", TRUSTED.user_id)
        await self.broker.publish(body, queue=self.topology.queue.name, **properties)
        await self.consumer.settled()


def _bus(session_factory: Any, clock: FakeClock) -> Bus:
    settings = Settings(NOTIFIER_QUEUE=f"unit.{uuid.uuid4().hex[:8]}")
    topology = build_topology(settings)
    broker = RabbitBroker()
    woken: list[frozenset[Channel]] = []
    consumer = EventConsumer(
        trust=TRUSTED,
        broker=broker,
        topology=topology,
        session_factory=session_factory,
        clock=clock,
        on_deliveries_created=woken.append,
    )
    bus = Bus(broker, topology, consumer, woken=woken)
    events = build_events_router(topology=topology, consumer=consumer, prefetch=settings.prefetch)
    broker.include_router(events)

    @broker.subscriber(topology.dead_letter_queue, topology.dead_letter_exchange)
    async def dead_letters(message: RabbitMessage) -> None:
        bus.dead.append(message)

    for wait_queue in topology.retry_queues:
        broker.subscriber(wait_queue)(_collector(bus.waiting.setdefault(wait_queue.name, [])))
    return bus


def _collector(into: list[RabbitMessage]) -> Any:
    async def collect(message: RabbitMessage) -> None:
        into.append(message)

    return collect


@pytest.fixture
async def bus(session_factory: SessionFactory, clock: FakeClock) -> AsyncIterator[Bus]:
    bus = _bus(session_factory, clock)
    async with TestRabbitBroker(bus.broker):
        yield bus
    await bus.consumer.aclose()


async def _count(session_factory: SessionFactory, model: Any) -> int:
    async with session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_event_delivered_three_times_is_handled_once(
    bus: Bus, session_factory: SessionFactory
) -> None:
    ann = uuid.uuid4()
    await bus.publish(wire_bytes(envelope(recipient_updated(ann))))
    published = wire_bytes(envelope(NoticeSpec([ann]).published()))
    for _ in range(3):
        await bus.publish(published)

    assert await _count(session_factory, InboxEvent) == 2
    assert await _count(session_factory, Delivery) == 1
    assert await _count(session_factory, Recipient) == 1
    # Only the batch that created the delivery, and only the lane of its channel.
    assert bus.woken == [frozenset({Channel.EMAIL})]
    assert bus.dead == []


async def test_a_deletion_flows_through_the_router_and_cancels_what_is_pending(
    bus: Bus, session_factory: SessionFactory
) -> None:
    ann = uuid.uuid4()
    await bus.publish(wire_bytes(envelope(recipient_updated(ann))))
    await bus.publish(wire_bytes(envelope(NoticeSpec([ann]).published())))
    gone = recipient_updated(ann, is_active=False).model_copy(
        update={"email": None, "version": 2, "deleted": True}
    )
    await bus.publish(wire_bytes(envelope(gone)))

    async with session_factory() as session:
        [delivery] = await session.scalars(select(Delivery))
        recipient = await session.get(Recipient, ann)
    assert (delivery.status, delivery.last_error) == ("cancelled", "recipient deleted")
    assert recipient is not None
    assert recipient.email is None
    assert bus.dead == []


async def test_a_batch_that_creates_no_delivery_does_not_wake_the_dispatcher(
    bus: Bus, session_factory: SessionFactory
) -> None:
    ann = uuid.uuid4()
    await bus.publish(wire_bytes(envelope(NoticeSpec([ann]).read(ann))))

    assert await _count(session_factory, InboxEvent) == 1
    assert await _count(session_factory, Delivery) == 0
    assert bus.woken == []


async def test_an_event_whose_content_type_faststream_would_decode_is_handled(
    bus: Bus, session_factory: SessionFactory
) -> None:
    await bus.publish(_valid_bytes(), content_type="application/json")

    assert await _count(session_factory, Recipient) == 1
    assert bus.dead == []


def _valid_bytes() -> bytes:
    return wire_bytes(envelope(recipient_updated(uuid.uuid4())))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid_json"),
        (b'["a", "list"]', "not_a_cloudevent"),
        (b'{"id": "x", "type": "notices.notice.read.v1"}', "not_a_cloudevent"),
        (_valid_bytes().replace(b'"is_active"', b'"active"'), "invalid_data"),
    ],
)
async def test_a_poison_message_is_dead_lettered_with_its_reason_and_the_next_one_handled(
    bus: Bus, session_factory: SessionFactory, body: bytes, reason: str
) -> None:
    await bus.publish(body, message_id="poison-1")
    await bus.publish(_valid_bytes())

    [dead] = bus.dead
    assert dead.headers[REASON_HEADER] == reason
    assert dead.headers[ERROR_HEADER]
    assert dead.body == body
    assert dead.message_id == "poison-1"
    assert await _count(session_factory, Recipient) == 1


async def test_unknown_types_and_versions_are_acknowledged_and_ignored(
    bus: Bus, session_factory: SessionFactory
) -> None:
    valid = _valid_bytes()
    await bus.publish(valid.replace(b"recipient.updated.v1", b"recipient.updated.v2"))
    await bus.publish(valid.replace(b"recipient.updated.v1", b"poll.closed.v1"))

    assert bus.dead == []
    assert await _count(session_factory, InboxEvent) == 0


class _DatabaseDown:
    def begin(self) -> Any:
        raise OperationalError("BEGIN", {}, ConnectionRefusedError("database is down"))


async def test_a_transient_failure_goes_to_the_next_wait_queue_then_to_the_dlq(
    clock: FakeClock,
) -> None:
    bus = _bus(_DatabaseDown(), clock)
    body = _valid_bytes()
    async with TestRabbitBroker(bus.broker):
        await bus.publish(body)
        first_wait = bus.topology.retry_queues[0].name
        [waiting] = bus.waiting[first_wait]
        assert waiting.headers[ATTEMPT_HEADER] == 2

        last = bus.topology.max_consume_attempts
        await bus.publish(body, headers={ATTEMPT_HEADER: last})
        [dead] = bus.dead
        assert dead.headers[REASON_HEADER] == "retries_exhausted"
        assert "database is down" in dead.headers[ERROR_HEADER]


async def test_a_batch_that_fails_is_handled_one_event_at_a_time_and_only_the_bad_one_waits(
    bus: Bus, session_factory: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = [uuid.uuid4() for _ in range(3)]
    bad = uuid.uuid4()
    real = HANDLERS[RECIPIENT_UPDATED_V1.type]

    async def failing_for_bad(session: Any, *, events: Any, now: Any) -> object:
        if any(event.data.user_id == bad for event in events):
            raise RuntimeError("this one event cannot be written")
        return await real(session, events=events, now=now)

    monkeypatch.setitem(HANDLERS, RECIPIENT_UPDATED_V1.type, failing_for_bad)
    batches: list[int] = []
    handle_batch = bus.consumer._handle

    async def counting(items: Any) -> Any:
        batches.append(len(items))
        return await handle_batch(items)

    monkeypatch.setattr(bus.consumer, "_handle", counting)
    # Published back to back: all four make one batch, or the first starts the batcher
    # and is a batch alone and the other three arrive while it is written.
    for user in [good[0], bad, *good[1:]]:
        await bus.broker.publish(
            wire_bytes(envelope(recipient_updated(user))),
            queue=bus.topology.queue.name,
            user_id=TRUSTED.user_id,
        )
    await bus.consumer.settled()

    # The batch holding the bad one failed, then each of its events went alone.
    assert batches in ([4, 1, 1, 1, 1], [1, 3, 1, 1, 1])
    async with session_factory() as session:
        stored = set(await session.scalars(select(Recipient.user_id)))
    assert stored == set(good)
    [waiting] = bus.waiting[bus.topology.retry_queues[0].name]
    assert waiting.headers[ATTEMPT_HEADER] == 2
    assert bus.dead == []


@pytest.mark.parametrize(
    "forgery",
    [{"user_id": "intruder"}, {"user_id": None}, {"source": "https://evil.example/"}],
    ids=["other-user", "no-user", "other-source"],
)
async def test_an_event_not_from_the_trusted_publisher_is_dead_lettered(
    bus: Bus, session_factory: SessionFactory, forgery: dict[str, Any]
) -> None:
    event = envelope(recipient_updated(uuid.uuid4()))
    if "source" in forgery:
        event = event.model_copy(update={"source": forgery["source"]})
    properties = {"user_id": forgery["user_id"]} if "user_id" in forgery else {}

    await bus.publish(wire_bytes(event), message_id="forged-1", **properties)

    [dead] = bus.dead
    assert dead.headers[REASON_HEADER] == UNTRUSTED_PUBLISHER
    assert await _count(session_factory, Recipient) == 0


def test_the_trusted_publisher_defaults_to_the_notifiers_own_broker_user() -> None:
    trusted = TrustedPublisher.of(user_id=None, source="s", amqp_url="amqp://notifier:pw@mq/")
    assert trusted.user_id == "notifier"
    assert TrustedPublisher.of(
        user_id="notices-api", source="s", amqp_url="amqp://n@mq/"
    ).user_id == ("notices-api")
    assert trusted.refusal(user_id="notifier", source="s") is None
    relayed = TrustedPublisher.of(user_id="notices-api", source="s", amqp_url="amqp://notifier@mq/")
    assert relayed.refusal(user_id="notices-api", source="s") is None
    assert relayed.refusal(user_id="notifier", source="s") is None  # its own retried copies
    assert relayed.refusal(user_id="intruder", source="s") is not None
