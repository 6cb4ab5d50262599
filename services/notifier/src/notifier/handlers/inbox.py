"""The inbox: an event id is handled once; a duplicate changes nothing."""

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.handlers.context import EventContext
from notifier.store.models import InboxEvent
from notifier.store.upsert import insert


async def record_in_inbox(session: AsyncSession, *, context: EventContext, now: datetime) -> bool:
    """True when the event is new; must run in the transaction of the event's effects."""
    statement = (
        insert(session, InboxEvent)
        .values(event_id=context.event_id, event_type=context.event_type, received_at=now)
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    result = cast("CursorResult[Any]", await session.execute(statement))
    return bool(result.rowcount)
