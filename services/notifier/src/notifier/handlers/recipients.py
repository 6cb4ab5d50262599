"""recipient.updated: the local directory of where each user can be reached.

The newest update of a user wins whatever order they arrive in: the one with the
highest directory version, which the producer raises with each change of the user in
the same transaction; between events of which one has no version (from a producer that
predates versions) the later event time, which is the producing host's clock.
An update marked ``deleted`` erases the address and cancels what is pending for the
user. A user who becomes
reachable by email (new with an address and active, gains an address, or becomes
active) gets every live notice whose frozen audience holds them: events of different
aggregates are not ordered, so the notice.published that names them may have come
first and found no way to email them.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import ColumnElement, Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from notices_contracts import RecipientUpdatedV1
from notifier.handlers.context import EventContext, Received
from notifier.handlers.notices import lock_audiences
from notifier.ledger import creation, facts
from notifier.ledger.cancel import cancel_for_recipients_deleted
from notifier.ledger.creation import LedgerChange
from notifier.ledger.rules import RecipientFacts, reachable_by_email
from notifier.store.models import Notice, NoticeAudience, Recipient
from notifier.store.upsert import InsertFactory, built_once

_RECIPIENTS = cast(Table, Recipient.__table__)
_NOTICES = cast(Table, Notice.__table__)
_AUDIENCE = cast(Table, NoticeAudience.__table__)


@built_once
def _recipient_upsert(insert: InsertFactory) -> Any:
    statement = insert(_RECIPIENTS)
    # An older update arriving late must not overwrite a newer one.
    return statement.on_conflict_do_update(
        index_elements=["user_id"],
        set_={
            name: statement.excluded[name]
            for name in (
                "email",
                "display_name",
                "timezone",
                "locale",
                "is_active",
                "source_time",
                "directory_version",
            )
        },
        where=_is_not_older(statement.excluded),
    )


async def handle_recipient_updated(
    session: AsyncSession, *, events: Sequence[Received[RecipientUpdatedV1]], now: datetime
) -> LedgerChange:
    await lock_audiences(session, exclusive=True)
    user_ids = [event.data.user_id for event in events]
    before = await facts.recipients(session, user_ids)
    await session.execute(
        _recipient_upsert(session),
        [
            {
                "user_id": event.data.user_id,
                "email": None if event.data.deleted else event.data.email,
                "display_name": "" if event.data.deleted else event.data.display_name,
                "timezone": event.data.timezone,
                "locale": event.data.locale,
                "is_active": event.data.is_active and not event.data.deleted,
                "source_time": event.context.time,
                "directory_version": event.data.version,
            }
            for event in events
        ],
    )
    deleted = [event.data.user_id for event in events if event.data.deleted]
    cancelled = await cancel_for_recipients_deleted(session, user_ids=deleted, now=now)
    after = await facts.recipients(session, user_ids)
    latecomers = {
        user_id
        for user_id in user_ids
        if reachable_by_email(after.get(user_id)) and not reachable_by_email(before.get(user_id))
    }
    if not latecomers:
        return LedgerChange(cancelled=cancelled)
    context_of = {event.data.user_id: event.context for event in events}
    created = await _deliver_to_latecomers(
        session, latecomers=latecomers, after=after, context_of=context_of, now=now
    )
    return created + LedgerChange(cancelled=cancelled)


def _is_not_older(incoming: Any) -> ColumnElement[bool]:
    """The stored update is not newer than ``incoming`` (the excluded row)."""
    stored = _RECIPIENTS.c
    both_versioned = and_(
        stored.directory_version.is_not(None), incoming.directory_version.is_not(None)
    )
    return or_(
        and_(both_versioned, stored.directory_version <= incoming.directory_version),
        and_(~both_versioned, stored.source_time <= incoming.source_time),
    )


async def _deliver_to_latecomers(
    session: AsyncSession,
    *,
    latecomers: set[UUID],
    after: dict[UUID, RecipientFacts],
    context_of: dict[UUID, EventContext],
    now: datetime,
) -> LedgerChange:
    """Email each user every live notice of whose audience they are.

    Live: published and not archived; the rules leave out what they have read or what
    is past its visibility. The rows are the ones the publish path makes (same ids),
    so any that exist already stay as they are.
    """
    audience = await session.execute(
        select(_AUDIENCE.c.notice_id, _AUDIENCE.c.user_id)
        .join(_NOTICES, _NOTICES.c.notice_id == _AUDIENCE.c.notice_id)
        .where(
            _AUDIENCE.c.user_id.in_(latecomers),
            _NOTICES.c.published_at.is_not(None),
            _NOTICES.c.archived_at.is_(None),
        )
    )
    owed = [(row.notice_id, row.user_id) for row in audience]
    if not owed:
        return LedgerChange()
    notices = await facts.notices(session, (notice_id for notice_id, _ in owed))
    preferences = await facts.preferences(session, latecomers)
    reads = await facts.reads_among(session, owed)
    rows = [
        row
        for notice_id, user_id in owed
        if (notice_id, user_id) not in reads
        for row in creation.email_rows(
            notices[notice_id],
            user_ids=[user_id],
            recipients=after,
            preferences=preferences,
            reads=reads,
            context=context_of[user_id],
            now=now,
        )
    ]
    return await creation.save(session, rows)
