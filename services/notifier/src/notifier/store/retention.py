"""Retention: what the notifier forgets, and when (``notifier prune``).

Deleted in batches of ``batch_size`` rows, one transaction per batch, so a prune
never holds a long lock or a large transaction:

- ``inbox`` rows (event ids already handled) older than ``inbox_days``. The inbox
  only has to outlive redeliveries of the same event; a copy arriving after that
  would be handled again, so keep it longer than any broker backlog.
- finished deliveries (delivered, failed, cancelled) last changed more than
  ``deliveries_days`` ago, with their attempts (a webhook row keeps the whole
  event body). A failed delivery past that can no longer be retried by the API.
- read receipts older than ``reads_days`` whose notice has no pending delivery
  (a reminder still due needs the read to know it is not to be sent).

Pending deliveries, recipients, preferences, notices and endpoints are never pruned.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Delete, Select, delete, exists, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.store.db import SessionFactory
from notifier.store.models import Attempt, Delivery, DeliveryStatus, InboxEvent, Read

FINISHED = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED)


@dataclass(frozen=True, kw_only=True)
class RetentionPolicy:
    inbox_days: float
    deliveries_days: float
    reads_days: float
    batch_size: int = 5000


@dataclass(kw_only=True)
class PruneReport:
    deleted: dict[str, int] = field(
        default_factory=lambda: {"inbox": 0, "deliveries": 0, "attempts": 0, "reads": 0}
    )


async def prune(
    session_factory: SessionFactory, *, policy: RetentionPolicy, now: datetime
) -> PruneReport:
    report = PruneReport()

    def before(days: float) -> datetime:
        return now - timedelta(days=days)

    old_inbox = select(InboxEvent.event_id).where(
        InboxEvent.received_at < before(policy.inbox_days)
    )
    report.deleted["inbox"] = await _in_batches(
        session_factory,
        lambda batch: delete(InboxEvent).where(InboxEvent.event_id.in_(batch)),
        old_inbox,
        policy.batch_size,
    )

    finished = select(Delivery.id).where(
        Delivery.status.in_(FINISHED), Delivery.updated_at < before(policy.deliveries_days)
    )

    async def delete_deliveries(session: AsyncSession, batch: list[Any]) -> None:
        # Explicitly, not through ON DELETE CASCADE: counted, and whatever the backend enforces.
        attempts = await session.execute(delete(Attempt).where(Attempt.delivery_id.in_(batch)))
        report.deleted["attempts"] += _rowcount(attempts)
        await session.execute(delete(Delivery).where(Delivery.id.in_(batch)))

    report.deleted["deliveries"] = await _in_batches_with(
        session_factory, delete_deliveries, finished, policy.batch_size
    )

    reminder_pending = exists().where(
        Delivery.notice_id == Read.notice_id, Delivery.status == DeliveryStatus.PENDING
    )
    old_reads = select(Read.notice_id, Read.user_id).where(
        Read.read_at < before(policy.reads_days), ~reminder_pending
    )
    report.deleted["reads"] = await _in_batches(
        session_factory,
        lambda batch: delete(Read).where(tuple_(Read.notice_id, Read.user_id).in_(batch)),
        old_reads,
        policy.batch_size,
    )
    return report


async def _in_batches(
    session_factory: SessionFactory,
    statement_for: Callable[[list[Any]], Delete],
    candidates: "Select[*tuple[Any, ...]]",
    batch_size: int,
) -> int:
    async def run(session: AsyncSession, batch: list[Any]) -> None:
        await session.execute(statement_for(batch))

    return await _in_batches_with(session_factory, run, candidates, batch_size)


async def _in_batches_with(
    session_factory: SessionFactory,
    delete_batch: Callable[[AsyncSession, list[Any]], Awaitable[None]],
    candidates: "Select[*tuple[Any, ...]]",
    batch_size: int,
) -> int:
    deleted = 0
    while True:
        async with session_factory() as session, session.begin():
            rows = (await session.execute(candidates.limit(batch_size))).all()
            batch = [row[0] if len(row) == 1 else tuple(row) for row in rows]
            if batch:
                await delete_batch(session, batch)
        deleted += len(batch)
        if len(batch) < batch_size:
            return deleted


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
