"""What an operator sees of the ledger and may do to it through the HTTP API.

Reads (deliveries, one delivery with its attempts, the acknowledgements of a
notice, the due backlog) change nothing. The one write, a retry, only ever
turns a ``failed`` delivery into a ``pending`` one due now with a fresh budget
of attempts; its earlier attempts stay in its history.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.store.models import (
    Attempt,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    NoticeAudience,
    Read,
)
from notifier.store.wakeups import announce_due


class DeliveryNotFoundError(Exception):
    def __init__(self, delivery_id: UUID) -> None:
        super().__init__(f"No delivery {delivery_id}.")


class DeliveryNotRetryableError(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(f"Only a failed delivery can be retried; it is {status}.")


class NoticeNotKnownError(Exception):
    def __init__(self, notice_id: UUID) -> None:
        super().__init__(f"Nothing is known of notice {notice_id}.")


@dataclass(frozen=True, kw_only=True)
class DeliveryHistory:
    delivery: Delivery
    attempts: list[Attempt]


@dataclass(frozen=True, kw_only=True)
class Acknowledgement:
    """Where one recipient of a notice stands: notice email, reminder, read receipt."""

    user_id: UUID
    delivery_status: str | None
    delivered_at: datetime | None
    reminders_sent: int
    reminder_status: str | None
    read_at: datetime | None


async def list_deliveries(
    session: AsyncSession,
    *,
    notice_id: UUID | None = None,
    user_id: UUID | None = None,
    channel: Channel | None = None,
    status: DeliveryStatus | None = None,
    limit: int,
) -> list[Delivery]:
    """Oldest first; a user's deliveries are their emails (a webhook's target is an endpoint)."""
    query = select(Delivery).order_by(Delivery.created_at, Delivery.id).limit(limit)
    if notice_id:
        query = query.where(Delivery.notice_id == notice_id)
    if user_id:
        query = query.where(Delivery.target_id == user_id, Delivery.channel == Channel.EMAIL.value)
    if channel:
        query = query.where(Delivery.channel == channel.value)
    if status:
        query = query.where(Delivery.status == status.value)
    return list(await session.scalars(query))


async def delivery_history(session: AsyncSession, *, delivery_id: UUID) -> DeliveryHistory:
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        raise DeliveryNotFoundError(delivery_id)
    attempts = await session.scalars(
        select(Attempt).where(Attempt.delivery_id == delivery_id).order_by(Attempt.id)
    )
    return DeliveryHistory(delivery=delivery, attempts=list(attempts))


async def retry_failed_delivery(
    session: AsyncSession, *, delivery_id: UUID, now: datetime
) -> DeliveryHistory:
    """Failed -> pending, due now, unclaimed, with a fresh budget of attempts."""
    # Conditional on the status in the statement itself: two retries at once cannot
    # both succeed, and a delivery the dispatcher is sending is never touched.
    statement = (
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.FAILED.value)
        .values(
            status=DeliveryStatus.PENDING.value,
            due_at=now,
            claimed_until=None,
            claim_token=None,
            attempt_count=0,
            updated_at=now,
        )
    )
    result = cast("CursorResult[Any]", await session.execute(statement))
    if result.rowcount == 0:
        current = await session.scalar(select(Delivery.status).where(Delivery.id == delivery_id))
        if current is None:
            raise DeliveryNotFoundError(delivery_id)
        raise DeliveryNotRetryableError(current)
    await announce_due(session)
    return await delivery_history(session, delivery_id=delivery_id)


async def acknowledgements(session: AsyncSession, *, notice_id: UUID) -> list[Acknowledgement]:
    """One per recipient of the frozen audience, also those who have no email delivery."""
    emails = await session.scalars(
        select(Delivery).where(
            Delivery.notice_id == notice_id, Delivery.channel == Channel.EMAIL.value
        )
    )
    reads = await session.scalars(select(Read).where(Read.notice_id == notice_id))
    # Recipients without email (or who opted out) have no delivery but are still owed.
    audience = await session.scalars(
        select(NoticeAudience.user_id).where(NoticeAudience.notice_id == notice_id)
    )
    notices: dict[UUID, Delivery] = {}
    reminders: dict[UUID, Delivery] = {}
    for delivery in emails:
        by_kind = reminders if delivery.kind == DeliveryKind.REMINDER.value else notices
        by_kind[delivery.target_id] = delivery
    read_at = {read.user_id: read.read_at for read in reads}
    users = sorted({*audience, *notices, *reminders, *read_at}, key=str)
    if not users:
        raise NoticeNotKnownError(notice_id)
    return [
        Acknowledgement(
            user_id=user,
            delivery_status=notices[user].status if user in notices else None,
            delivered_at=notices[user].delivered_at if user in notices else None,
            reminders_sent=int(
                user in reminders and reminders[user].status == DeliveryStatus.DELIVERED
            ),
            reminder_status=reminders[user].status if user in reminders else None,
            read_at=read_at.get(user),
        )
        for user in users
    ]


async def due_backlog(session: AsyncSession, *, now: datetime) -> dict[str, int]:
    """Pending deliveries already due, per channel (channels with none are absent)."""
    rows = await session.execute(
        select(Delivery.channel, func.count().label("due"))
        .where(Delivery.status == DeliveryStatus.PENDING.value, Delivery.due_at <= now)
        .group_by(Delivery.channel)
    )
    return {str(row.channel): int(row.due) for row in rows}
