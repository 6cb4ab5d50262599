"""The relay against the machine's RabbitMQ, in this process (PostgreSQL or SQLite)."""

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.relay import relay_from_settings
from notices_api.outbox.tests.conftest import BoundQueue, record_archived, record_reads
from notices_contracts import parse_event

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]


def test_events_reach_a_bound_queue_with_properties_mirroring_the_envelope(
    make_queue: Callable[..., BoundQueue],
) -> None:
    queue = make_queue()
    aggregates = [uuid.uuid4() for _ in range(30)]
    written = record_reads(aggregates, per_aggregate=10)

    relay_from_settings(confirm_window=64, batch_size=100).run(once=True)

    messages = queue.drain(expect=written)
    assert len(messages) == written
    assert not OutboxEvent.objects.exclude(status=OutboxEvent.Status.PUBLISHED).exists()
    positions = dict(OutboxEvent.objects.values_list("id", "position"))
    last: dict[str, int] = {}
    for message in messages:
        event = parse_event(message.body)
        props: dict[str, Any] = message.properties
        assert props["message_id"] == str(event.id)
        assert props["type"] == event.type
        assert props["content_type"] == "application/cloudevents+json"
        assert props["delivery_mode"] == 2
        assert message.delivery_info["routing_key"] == "notice.read.v1"
        assert event.subject is not None
        assert positions[event.id] > last.get(event.subject, 0)
        last[event.subject] = positions[event.id]


def test_an_unroutable_event_is_retried_then_parked_without_holding_back_others(
    make_queue: Callable[..., BoundQueue],
) -> None:
    # Bound to notice.read only: notice.archived has no queue, so the mandatory publish returns.
    queue = make_queue(binding_keys=("notice.read.v1",))
    poisoned, others = uuid.uuid4(), [uuid.uuid4() for _ in range(20)]
    record_archived(poisoned)
    record_reads([poisoned, *others], per_aggregate=5)
    relay = relay_from_settings(max_attempts=3, backoff_base=0.2, backoff_cap=0.4)

    relay.run(once=True)

    # Every other notice went out while the poisoned one waits for its retry.
    head = OutboxEvent.objects.filter(aggregate_id=str(poisoned)).order_by("position").first()
    assert head is not None
    assert not OutboxEvent.objects.pending().exclude(aggregate_id=str(poisoned)).exists()
    assert head.status == OutboxEvent.Status.PENDING
    assert head.attempts == 1
    assert (
        not OutboxEvent.objects.filter(aggregate_id=str(poisoned), attempts=0)
        .exclude(status=OutboxEvent.Status.PENDING)
        .exists()
    )

    deadline = time.monotonic() + 60
    while OutboxEvent.objects.pending().exists() and time.monotonic() < deadline:
        relay.run(once=True)
        time.sleep(0.05)

    head.refresh_from_db()
    assert head.status == OutboxEvent.Status.FAILED
    assert head.attempts == 3
    assert "returned" in head.last_error
    assert "NO_ROUTE" in head.last_error.upper()
    behind = OutboxEvent.objects.filter(aggregate_id=str(poisoned)).exclude(id=head.id)
    assert all(e.status == OutboxEvent.Status.PUBLISHED for e in behind)
    received = queue.drain(expect=100 + 5)
    ids = [m.properties["message_id"] for m in received]
    assert len(ids) == len(set(ids)) == 105
    assert str(head.id) not in ids
