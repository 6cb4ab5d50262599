"""notice.published, notice.read, notice.archived: what the notifier knows of notices.

Each handler takes a batch of one event type and costs a handful of statements
whatever the batch holds. What is owed to whom is the ledger's to decide
(``notifier.ledger``); a handler records the facts and asks it.

Any arrival order ends in the same state: a read kept before its publish stops
that user's reminder, an archive before the publish leaves nothing owed to
people, and a user the directory learns of (or who gains an email) after the
publish still gets the notice while it is live (``handlers.recipients``).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncSession

from notices_contracts import NoticeArchivedV1, NoticePublishedV1, NoticeReadV1
from notifier.handlers.context import Received
from notifier.ledger import creation, facts
from notifier.ledger.cancel import cancel_for_archive, cancel_reminders_of_readers
from notifier.ledger.creation import LedgerChange
from notifier.store.db import on_postgresql
from notifier.store.models import Notice, NoticeAudience, Read
from notifier.store.upsert import InsertFactory, built_once

# A PostgreSQL advisory lock key of this service's own (any 64-bit constant).
AUDIENCE_LOCK = 0x6E6F746966696572

_NOTICES = cast(Table, Notice.__table__)
_AUDIENCE = cast(Table, NoticeAudience.__table__)
_READS = cast(Table, Read.__table__)
_LOCK_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(:key)")
_LOCK_SHARED = text("SELECT pg_advisory_xact_lock_shared(:key)")


async def lock_audiences(session: AsyncSession, *, exclusive: bool) -> None:
    """Order a publish against a user becoming reachable; publishes run side by side.

    Each reads what the other writes (recipients, audience): two concurrent
    READ COMMITTED transactions would each miss the other and nobody would email
    the user. A batch takes the exclusive lock first (recipients are handled before
    publishes, see ``routers.events``), so it never waits on itself. SQLite needs
    nothing: every transaction begins IMMEDIATE (see ``notifier.store.db``), so they
    run one at a time.
    """
    if not on_postgresql(session):
        return
    await session.execute(_LOCK_EXCLUSIVE if exclusive else _LOCK_SHARED, {"key": AUDIENCE_LOCK})


@built_once
def _notice_upsert(insert: InsertFactory, columns: tuple[str, ...]) -> Any:
    statement = insert(_NOTICES)
    return statement.on_conflict_do_update(
        index_elements=["notice_id"], set_={name: statement.excluded[name] for name in columns}
    )


@built_once
def _audience_insert(insert: InsertFactory) -> Any:
    return insert(_AUDIENCE).on_conflict_do_nothing(index_elements=["notice_id", "user_id"])


@built_once
def _read_insert(insert: InsertFactory) -> Any:
    return insert(_READS).on_conflict_do_nothing(index_elements=["notice_id", "user_id"])


async def _upsert_notices(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert or update notices by id, setting only the columns the rows carry."""
    if not rows:
        return
    columns = tuple(name for name in rows[0] if name != "notice_id")
    await session.execute(_notice_upsert(session, columns), rows)


async def handle_notice_published(
    session: AsyncSession, *, events: Sequence[Received[NoticePublishedV1]], now: datetime
) -> LedgerChange:
    await lock_audiences(session, exclusive=False)
    await _upsert_notices(
        session,
        [
            {
                "notice_id": event.data.notice_id,
                "title": event.data.title,
                "summary": event.data.summary,
                "category": event.data.category,
                "urgent": event.data.urgent,
                "url": event.data.url,
                "published_at": event.data.published_at,
                "visible_from": event.data.visible_from,
                "visible_until": event.data.visible_until,
                "remind_after_seconds": event.data.remind_after_seconds,
            }
            for event in events
        ],
    )
    audiences = {
        event.data.notice_id: list(dict.fromkeys(event.data.recipient_ids)) for event in events
    }
    # Kept so that a recipient.updated arriving after this event still reaches its user.
    audience_rows = [
        {"notice_id": notice_id, "user_id": user_id}
        for notice_id, user_ids in audiences.items()
        for user_id in user_ids
    ]
    if audience_rows:
        await session.execute(_audience_insert(session), audience_rows)
    everyone = [user_id for user_ids in audiences.values() for user_id in user_ids]
    notices = await facts.notices(session, audiences)
    recipients = await facts.recipients(session, everyone)
    preferences = await facts.preferences(session, everyone)
    with_reminders = [n for n in notices.values() if n.remind_after_seconds]
    reads = await facts.reads_of_notices(session, (n.notice_id for n in with_reminders))
    subscriptions = await facts.subscriptions(session)
    rows: list[dict[str, Any]] = []
    for event in events:
        notice_id = event.data.notice_id
        rows += creation.email_rows(
            notices[notice_id],
            user_ids=audiences[notice_id],
            recipients=recipients,
            preferences=preferences,
            reads=reads,
            context=event.context,
            now=now,
        )
        rows += creation.webhook_rows(
            subscriptions, notice_id=notice_id, context=event.context, now=now
        )
    return await creation.save(session, rows)


async def handle_notice_read(
    session: AsyncSession, *, events: Sequence[Received[NoticeReadV1]], now: datetime
) -> LedgerChange:
    await session.execute(
        _read_insert(session),
        [
            {
                "notice_id": event.data.notice_id,
                "user_id": event.data.user_id,
                "read_at": event.data.read_at,
            }
            for event in events
        ],
    )
    cancelled = await cancel_reminders_of_readers(
        session, reads=[(event.data.notice_id, event.data.user_id) for event in events], now=now
    )
    subscriptions = await facts.subscriptions(session)
    rows = [
        row
        for event in events
        for row in creation.webhook_rows(
            subscriptions,
            notice_id=event.data.notice_id,
            context=event.context,
            now=now,
            user_id=event.data.user_id,
        )
    ]
    return await creation.save(session, rows) + LedgerChange(cancelled=cancelled)


async def handle_notice_archived(
    session: AsyncSession, *, events: Sequence[Received[NoticeArchivedV1]], now: datetime
) -> LedgerChange:
    await _upsert_notices(
        session,
        [
            {"notice_id": event.data.notice_id, "archived_at": event.data.archived_at}
            for event in events
        ],
    )
    cancelled = await cancel_for_archive(
        session, notice_ids=[event.data.notice_id for event in events], now=now
    )
    subscriptions = await facts.subscriptions(session)
    rows = [
        row
        for event in events
        for row in creation.webhook_rows(
            subscriptions, notice_id=event.data.notice_id, context=event.context, now=now
        )
    ]
    return await creation.save(session, rows) + LedgerChange(cancelled=cancelled)
