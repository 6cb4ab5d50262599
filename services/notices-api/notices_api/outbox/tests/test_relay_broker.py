"""The relay against the machine's RabbitMQ, in this process (PostgreSQL or SQLite)."""

import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import amqp
import pytest
from django.conf import settings

from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.relay import relay_from_settings
from notices_api.outbox.tests.conftest import (
    BoundQueue,
    rabbitmqctl,
    record_archived,
    record_reads,
)
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


def test_an_unroutable_event_is_retried_then_parked_holding_back_only_its_own_notice(
    make_queue: Callable[..., BoundQueue],
) -> None:
    # Bound to notice.read only: notice.archived has no queue, so the mandatory publish returns.
    queue = make_queue(binding_keys=("notice.read.v1",))
    poisoned, others = uuid.uuid4(), [uuid.uuid4() for _ in range(20)]
    record_archived(poisoned)
    record_reads([poisoned, *others], per_aggregate=5)
    # A retry comes due 1 to 2 s later, well after the first run's batches are done; with
    # 0.1 to 0.2 s, a batch slowed by a busy machine saw the row due again in the same run.
    relay = relay_from_settings(max_attempts=3, backoff_base_seconds=2.0, backoff_cap_seconds=2.0)

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
    while OutboxEvent.objects.filter(id=head.id).pending().exists() and time.monotonic() < deadline:
        relay.run(once=True)
        time.sleep(0.05)

    head.refresh_from_db()
    assert head.status == OutboxEvent.Status.FAILED
    assert head.attempts == 3
    assert "returned" in head.last_error
    assert "NO_ROUTE" in head.last_error.upper()
    behind = OutboxEvent.objects.filter(aggregate_id=str(poisoned)).exclude(id=head.id)
    assert set(OutboxEvent.objects.held()) == set(behind)
    received = queue.drain(expect=100)
    ids = [m.properties["message_id"] for m in received]
    assert len(ids) == len(set(ids)) == 100
    assert not {str(e.id) for e in OutboxEvent.objects.filter(aggregate_id=str(poisoned))} & set(
        ids
    )


def test_an_event_above_the_max_message_size_is_parked_and_the_rest_flows(
    make_queue: Callable[..., BoundQueue],
) -> None:
    queue = make_queue()
    big, others = uuid.uuid4(), [uuid.uuid4() for _ in range(5)]
    record_reads([big, *others], per_aggregate=2)
    head = OutboxEvent.objects.filter(aggregate_id=str(big)).order_by("position").first()
    assert head is not None
    envelope = {**head.envelope, "data": {**head.envelope["data"], "padding": "x" * 70_000}}
    OutboxEvent.objects.filter(id=head.id).update(envelope=envelope)

    relay_from_settings(max_message_bytes=64 * 1024).run(once=True)

    assert {m.properties["message_id"] for m in queue.drain(expect=10)} == {
        str(i) for i in OutboxEvent.objects.published().values_list("id", flat=True)
    }
    head.refresh_from_db()
    assert head.status == OutboxEvent.Status.FAILED
    assert "max_message_bytes" in head.last_error
    assert OutboxEvent.objects.published().count() == 10
    assert OutboxEvent.objects.held().count() == 1


def test_every_message_carries_the_user_id_of_the_relays_connection(
    make_queue: Callable[..., BoundQueue],
) -> None:
    queue = make_queue()
    record_reads([uuid.uuid4()], per_aggregate=2)

    relay_from_settings().run(once=True)

    (first, second) = queue.drain(expect=2)
    assert first.properties["user_id"] == second.properties["user_id"] == "guest"


def test_the_broker_refuses_a_recipient_update_forged_under_another_users_name(
    amqp_vhost_url: str, make_queue: Callable[..., BoundQueue]
) -> None:
    """Another broker user cannot publish as the relay: RabbitMQ checks user_id."""
    make_queue()  # declares the exchange
    vhost = urlsplit(amqp_vhost_url).path.lstrip("/").replace("%2F", "/")
    intruder, password = f"intruder-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    rabbitmqctl("add_user", intruder, password)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, intruder, "", ".*", "")
        base = urlsplit(amqp_vhost_url)
        connection = amqp.Connection(
            host=f"{base.hostname}:{base.port or 5672}",
            userid=intruder,
            password=password,
            virtual_host=vhost,
        )
        connection.connect()
        try:
            channel = connection.channel()
            channel.confirm_select()
            forged = amqp.Message(
                b'{"type":"notices.recipient.updated.v1"}',
                user_id="guest",  # the relay's user in this run
                type="notices.recipient.updated.v1",
            )
            channel.basic_publish(
                forged, exchange=settings.OUTBOX_EXCHANGE, routing_key="recipient.updated.v1"
            )
            with pytest.raises(amqp.exceptions.PreconditionFailed, match="user_id"):
                connection.drain_events(timeout=10)
        finally:
            with contextlib.suppress(Exception):
                connection.collect()
    finally:
        rabbitmqctl("delete_user", intruder)
