"""Why a pending delivery stops being owed, and the one statement that cancels it.

A cancel only ever turns ``pending`` into ``cancelled``; a row already sent,
failed or cancelled keeps its state. A send in flight when its row is cancelled
still records its attempt, but its result no longer changes the row (see
``notifier.ledger.claims``).
"""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, cast
from uuid import UUID

from sqlalchemy import CursorResult, Table, Update, bindparam, tuple_, update
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


def _keys() -> Any:
    return bindparam("keys", expanding=True)


def _cancel(*conditions: Any, reason: CancelReason) -> Update:
    """Pending rows matching ``conditions`` become cancelled for ``reason`` (at ``now``)."""
    return (
        update(_DELIVERIES)
        .where(_DELIVERIES.c.status == DeliveryStatus.PENDING.value, *conditions)
        .values(
            status=DeliveryStatus.CANCELLED.value,
            last_error=reason.value,
            updated_at=bindparam("now", type_=_DELIVERIES.c.updated_at.type),
        )
    )


# Built once, each run with its keys and the time: building a statement and its cache key
# per batch cost more than running it (docs/notifier.md).
_READ_REMINDERS = _cancel(
    tuple_(_DELIVERIES.c.notice_id, _DELIVERIES.c.target_id).in_(_keys()),
    _DELIVERIES.c.kind == DeliveryKind.REMINDER.value,
    reason=CancelReason.READ,
)
_ARCHIVED = _cancel(
    _DELIVERIES.c.notice_id.in_(_keys()),
    _DELIVERIES.c.channel == Channel.EMAIL.value,
    reason=CancelReason.ARCHIVED,
)
_ENDPOINT_DELETED = _cancel(
    _DELIVERIES.c.channel == Channel.WEBHOOK.value,
    _DELIVERIES.c.target_id.in_(_keys()),
    reason=CancelReason.ENDPOINT_DELETED,
)
_RECIPIENTS_DELETED = _cancel(
    _DELIVERIES.c.channel == Channel.EMAIL.value,
    _DELIVERIES.c.target_id.in_(_keys()),
    reason=CancelReason.RECIPIENT_DELETED,
)


async def _cancel_pending(
    session: AsyncSession, statement: Update, *, keys: Sequence[Any], now: datetime
) -> int:
    if not keys:
        return 0
    result = cast(
        "CursorResult[Any]", await session.execute(statement, {"keys": list(keys), "now": now})
    )
    return int(result.rowcount)


async def cancel_reminders_of_readers(
    session: AsyncSession, *, reads: list[tuple[UUID, UUID]], now: datetime
) -> int:
    """Each read (notice id, user id) stops that user's reminder of that notice, nothing else."""
    return await _cancel_pending(session, _READ_REMINDERS, keys=reads, now=now)


async def cancel_for_archive(
    session: AsyncSession, *, notice_ids: list[UUID], now: datetime
) -> int:
    """An archive stops what is addressed to people; events already owed to systems still go."""
    return await _cancel_pending(session, _ARCHIVED, keys=notice_ids, now=now)


async def cancel_for_endpoint_deleted(
    session: AsyncSession, *, endpoint_id: UUID, now: datetime
) -> int:
    """Nobody will send them any more: pending would stay pending (and counted) for ever."""
    return await _cancel_pending(session, _ENDPOINT_DELETED, keys=[endpoint_id], now=now)


async def cancel_for_recipients_deleted(
    session: AsyncSession, *, user_ids: list[UUID], now: datetime
) -> int:
    """A deleted user is emailed nothing more, not even what was already owed."""
    return await _cancel_pending(session, _RECIPIENTS_DELETED, keys=user_ids, now=now)
