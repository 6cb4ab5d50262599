"""Writing domain events into the outbox, inside the caller's transaction."""

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from uuid6 import uuid7

from notices_api.core import telemetry
from notices_api.core.tracecontext import (
    current_trace_context,
    new_trace_context,
    with_current_span,
)
from notices_api.outbox.models import (
    NextOutboxPosition,
    OutboxEvent,
    OutboxEventQuerySet,
    partition_for,
)
from notices_contracts import build_event
from notices_contracts.base import ContractModel
from notices_contracts.registry import spec_for_data


class OutboxOutsideTransactionError(RuntimeError):
    """An event written outside ``transaction.atomic()`` could outlive a rolled-back change."""


def outbox_event_record(
    *, data: ContractModel, aggregate_id: UUID, occurred_at: datetime | None = None
) -> OutboxEvent:
    """Record one event in the outbox, in the transaction of the change it describes.

    ``data`` is a contract model, so the payload is valid by construction. On
    PostgreSQL the same transaction sends a NOTIFY, which wakes the relay the
    moment the transaction commits (and never if it rolls back).
    """
    if not transaction.get_connection().in_atomic_block:
        raise OutboxOutsideTransactionError(
            "outbox_event_record must run inside transaction.atomic(), with the change it records"
        )
    spec = spec_for_data(data)
    event_id = uuid7()
    now = timezone.now()
    # The event carries this write's span (tracing on), else the unit of work's ids.
    with telemetry.tracer.start_as_current_span(
        f"outbox write {spec.type}",
        attributes={"notices.outbox.row_id": str(event_id), "notices.event.type": spec.type},
    ):
        # Nothing bound means no request or command gave this write a unit of work: it is one.
        trace = with_current_span(current_trace_context() or new_trace_context())
        envelope = build_event(
            event_id=event_id,
            subject=str(aggregate_id),
            time=occurred_at or now,
            data=data,
            traceparent=trace.traceparent,
            correlationid=trace.request_id,
        )
        partition = partition_for(str(aggregate_id), settings.OUTBOX_PARTITIONS)
        event = OutboxEvent.objects.create(
            id=event_id,
            position=NextOutboxPosition(),
            partition=partition,
            aggregate_type=spec.aggregate,
            aggregate_id=str(aggregate_id),
            event_type=spec.type,
            envelope=envelope.to_json_dict(),
            headers={"correlation_id": trace.request_id, "traceparent": trace.traceparent},
            created_at=now,
            next_attempt_at=now,
        )
        _notify_relays(partition)
    return event


def outbox_events_replay(
    *,
    events: OutboxEventQuerySet,
    batch_size: int,
    on_batch: Callable[[int], None] = lambda _replayed: None,
) -> int:
    """Put parked (failed) events back in the queue, with a fresh set of attempts.

    The aggregate's later events were held while it was parked: it goes out first.
    ``batch_size`` events per transaction, in position order (``on_batch`` hears how
    many each one replayed), so a large replay holds no lock for long.
    """
    replayed = 0
    after = 0
    while True:
        with transaction.atomic():
            batch = list(
                events.failed()
                .filter(position__gt=after)
                .order_by("position")
                .values_list("id", "position", "partition")[:batch_size]
            )
            if not batch:
                return replayed
            batch_replayed = OutboxEvent.objects.filter(
                id__in=[event_id for event_id, _, _ in batch]
            ).update(
                status=OutboxEvent.Status.PENDING,
                attempts=0,
                next_attempt_at=timezone.now(),
                last_error="",
            )
            for partition in {partition for _, _, partition in batch}:
                _notify_relays(partition)
        after = batch[-1][1]
        replayed += batch_replayed
        on_batch(batch_replayed)


def _notify_relays(partition: int) -> None:
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # PostgreSQL delivers at commit and folds identical notifications of one
        # transaction into one, so a bulk write still wakes each relay once.
        cursor.execute("SELECT pg_notify(%s, %s)", [settings.OUTBOX_NOTIFY_CHANNEL, str(partition)])


def outbox_events_skip(*, events: OutboxEventQuerySet) -> int:
    """Give up on parked events (kept, never published), releasing the events held behind them."""
    with transaction.atomic():
        parked = events.failed()
        partitions = set(parked.values_list("partition", flat=True))
        skipped = parked.update(status=OutboxEvent.Status.SKIPPED)
        for partition in partitions:
            _notify_relays(partition)
    return skipped
