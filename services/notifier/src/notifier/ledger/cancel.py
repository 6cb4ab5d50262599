"""Why a pending delivery stops being owed, and the one statement that cancels it.

A cancel only ever turns ``pending`` into ``cancelled``; a row already sent,
failed or cancelled keeps its state. A send in flight when its row is cancelled
still records its attempt, but its result no longer changes the row (see
``notifier.ledger.claims``).
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, cast
from uuid import UUID

from sqlalchemy import CursorResult, Table, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.store.models import Channel, Delivery, DeliveryKind, DeliveryStatus


class CancelReason(StrEnum):
    """Written to ``last_error`` of a cancelled delivery."""

    READ = "read"  # the reminder's recipient has read the notice
    ARCHIVED = "archived"  # the notice was archived: nothing more goes to people
    EXPIRED = "visibility ended"  # past the notice's visible_until
    UNREACHABLE = "recipient unreachable"  # no address, or the user is inactive
    OPTED_OUT = "opted out"  # of this category on this channel
    ENDPOINT_DELETED = "endpoint deleted"
    RECIPIENT_DELETED = "recipient deleted"  # the user no longer exists upstream


_DELIVERIES = cast(Table, Delivery.__table__)


async def _cancel_pending(
    session: AsyncSession, *conditions: Any, reason: CancelReason, now: datetime
) -> int:
    statement = (
        update(_DELIVERIES)
        .where(_DELIVERIES.c.status == DeliveryStatus.PENDING.value, *conditions)
        .values(status=DeliveryStatus.CANCELLED.value, last_error=reason.value, updated_at=now)
    )
    result = cast("CursorResult[Any]", await session.execute(statement))
    return int(result.rowcount)


async def cancel_reminders_of_readers(
    session: AsyncSession, *, reads: list[tuple[UUID, UUID]], now: datetime
) -> int:
    """Each read (notice id, user id) stops that user's reminder of that notice, nothing else."""
    if not reads:
        return 0
    return await _cancel_pending(
        session,
        tuple_(_DELIVERIES.c.notice_id, _DELIVERIES.c.target_id).in_(reads),
        _DELIVERIES.c.kind == DeliveryKind.REMINDER.value,
        reason=CancelReason.READ,
        now=now,
    )


async def cancel_for_archive(
    session: AsyncSession, *, notice_ids: list[UUID], now: datetime
) -> int:
    """An archive stops what is addressed to people; events already owed to systems still go."""
    if not notice_ids:
        return 0
    return await _cancel_pending(
        session,
        _DELIVERIES.c.notice_id.in_(notice_ids),
        _DELIVERIES.c.channel == Channel.EMAIL.value,
        reason=CancelReason.ARCHIVED,
        now=now,
    )


async def cancel_for_endpoint_deleted(
    session: AsyncSession, *, endpoint_id: UUID, now: datetime
) -> int:
    """Nobody will send them any more: pending would stay pending (and counted) for ever."""
    return await _cancel_pending(
        session,
        _DELIVERIES.c.channel == Channel.WEBHOOK.value,
        _DELIVERIES.c.target_id == endpoint_id,
        reason=CancelReason.ENDPOINT_DELETED,
        now=now,
    )


async def cancel_for_recipients_deleted(
    session: AsyncSession, *, user_ids: list[UUID], now: datetime
) -> int:
    """A deleted user is emailed nothing more, not even what was already owed."""
    if not user_ids:
        return 0
    return await _cancel_pending(
        session,
        _DELIVERIES.c.channel == Channel.EMAIL.value,
        _DELIVERIES.c.target_id.in_(user_ids),
        reason=CancelReason.RECIPIENT_DELETED,
        now=now,
    )
