"""The inbox: an event id is handled once; a duplicate changes nothing."""

from collections.abc import Sequence
from datetime import datetime
from typing import cast
from uuid import UUID

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.handlers.context import EventContext
from notifier.store.models import InboxEvent
from notifier.store.upsert import insert

_INBOX = cast(Table, InboxEvent.__table__)


async def record_in_inbox(
    session: AsyncSession, *, contexts: Sequence[EventContext], now: datetime
) -> set[UUID]:
    """The ids among ``contexts`` seen for the first time.

    Must run in the transaction of their effects.
    """
    if not contexts:
        return set()
    statement = (
        insert(session, _INBOX)
        .values(
            [
                {"event_id": c.event_id, "event_type": c.event_type, "received_at": now}
                for c in contexts
            ]
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(_INBOX.c.event_id)
    )
    return set((await session.scalars(statement)).all())
