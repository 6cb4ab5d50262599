"""notice.published, notice.read, notice.archived: the ledger and its reminders.

Any arrival order ends in the same state: a read kept before its publish stops
that user's reminder from being scheduled, an archive before the publish leaves
nothing to send, and a user the directory learns of (or who gains an email)
after the publish still gets the notice while it is live.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import CursorResult, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from notices_contracts import NoticeArchivedV1, NoticePublishedV1, NoticeReadV1
from notifier.handlers.context import EventContext
from notifier.ids import delivery_id
from notifier.quiet_hours import quiet_until
from notifier.store.models import (
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notice,
    NoticeAudience,
    Preferences,
    Read,
    Recipient,
    WebhookEndpoint,
)
from notifier.store.upsert import insert

# A PostgreSQL advisory lock key of this service's own (any 64-bit constant).
AUDIENCE_LOCK = 0x6E6F746966696572

# Keeps each IN (...) well below SQLite's and asyncpg's parameter limits.
LOOKUP_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class LedgerChange:
    created: int = 0
    cancelled: int = 0


def _chunks(items: Sequence[UUID]) -> Iterable[Sequence[UUID]]:
    for start in range(0, len(items), LOOKUP_CHUNK):
        yield items[start : start + LOOKUP_CHUNK]


class _Reachable(NamedTuple):
    """The directory columns publishing needs; plain rows, not ORM objects (10,000s of them)."""

    user_id: UUID
    email: str | None
    is_active: bool
    timezone: str


async def _recipients(session: AsyncSession, user_ids: Sequence[UUID]) -> dict[UUID, _Reachable]:
    found: dict[UUID, _Reachable] = {}
    columns = (Recipient.user_id, Recipient.email, Recipient.is_active, Recipient.timezone)
    for chunk in _chunks(user_ids):
        rows = await session.execute(select(*columns).where(Recipient.user_id.in_(chunk)))
        found.update((row.user_id, _Reachable(*row)) for row in rows)
    return found


async def _preferences(session: AsyncSession, user_ids: Sequence[UUID]) -> dict[UUID, Preferences]:
    found: dict[UUID, Preferences] = {}
    for chunk in _chunks(user_ids):
        rows = await session.scalars(select(Preferences).where(Preferences.user_id.in_(chunk)))
        found.update((row.user_id, row) for row in rows)
    return found


async def _readers(session: AsyncSession, notice_id: UUID) -> set[UUID]:
    rows = await session.scalars(select(Read.user_id).where(Read.notice_id == notice_id))
    return set(rows)


def _delivery_row(
    *,
    notice_id: UUID,
    target_id: UUID,
    channel: Channel,
    kind: str,
    due_at: datetime,
    context: EventContext,
    now: datetime,
    urgent: bool = False,
    body: bytes | None = None,
) -> dict[str, Any]:
    return {
        "id": delivery_id(notice_id=notice_id, target_id=target_id, channel=channel, kind=kind),
        "notice_id": notice_id,
        "channel": channel.value,
        "kind": kind,
        "target_id": target_id,
        "status": DeliveryStatus.PENDING.value,
        "due_at": due_at,
        "claimed_until": None,
        "attempt_count": 0,
        "last_error": None,
        "last_status_code": None,
        "body": body,
        "urgent": urgent,
        "event_id": context.event_id,
        "event_time": context.time,
        "correlation_id": context.correlationid,
        "traceparent": context.traceparent,
        "created_at": now,
        "updated_at": now,
        "delivered_at": None,
    }


async def _save_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert the ledger rows; those that exist already (same id) stay as they are."""
    if not rows:
        return 0
    # The table, not the mapped class: a Core executemany, without the ORM's bulk machinery.
    statement = insert(session, Delivery.__table__).on_conflict_do_nothing(index_elements=["id"])
    await session.execute(statement, rows)
    return len(rows)


def _webhook_kind(context: EventContext, user_id: UUID | None) -> str:
    kind = context.event_type
    return f"{kind}:{user_id}" if user_id else kind


async def _webhook_rows(
    session: AsyncSession,
    *,
    notice_id: UUID,
    context: EventContext,
    now: datetime,
    user_id: UUID | None = None,
) -> list[dict[str, Any]]:
    endpoints = await session.scalars(select(WebhookEndpoint))
    return [
        _delivery_row(
            notice_id=notice_id,
            target_id=endpoint.id,
            channel=Channel.WEBHOOK,
            kind=_webhook_kind(context, user_id),
            due_at=now,
            context=context,
            now=now,
            body=context.body,
        )
        for endpoint in endpoints
        if context.event_type in endpoint.event_types
    ]


async def _upsert_notice(session: AsyncSession, notice_id: UUID, **values: Any) -> Notice:
    statement = insert(session, Notice).values(notice_id=notice_id, **values)
    statement = statement.on_conflict_do_update(index_elements=["notice_id"], set_=values)
    await session.execute(statement)
    notice = await session.get(Notice, notice_id, populate_existing=True)
    assert notice is not None
    return notice


def _wants_email(
    recipient: _Reachable | None, preferences: Preferences | None, category: str | None
) -> bool:
    if recipient is None or not recipient.email or not recipient.is_active:
        return False
    opted_out = (preferences.opt_outs if preferences else {}).get(Channel.EMAIL.value, [])
    return category not in opted_out


def _email_rows(
    notice: Notice,
    *,
    user_ids: Iterable[UUID],
    recipients: dict[UUID, _Reachable],
    preferences: dict[UUID, Preferences],
    readers: set[UUID],
    context: EventContext,
    now: datetime,
) -> list[dict[str, Any]]:
    """The email and reminder rows of a published notice for those of user_ids who want email."""
    assert notice.published_at is not None
    remind_at = (
        notice.published_at + timedelta(seconds=notice.remind_after_seconds)
        if notice.remind_after_seconds
        else None
    )
    rows: list[dict[str, Any]] = []
    for user_id in user_ids:
        recipient, prefs = recipients.get(user_id), preferences.get(user_id)
        if recipient is None or not _wants_email(recipient, prefs, notice.category):
            continue
        due_at = now
        if not notice.urgent and prefs is not None:
            due_at = (
                quiet_until(
                    now=now,
                    timezone=recipient.timezone,
                    start=prefs.quiet_hours_start,
                    end=prefs.quiet_hours_end,
                )
                or now
            )
        email_row = partial(
            _delivery_row,
            notice_id=notice.notice_id,
            target_id=user_id,
            context=context,
            channel=Channel.EMAIL,
            now=now,
            urgent=notice.urgent,
        )
        rows.append(email_row(kind=DeliveryKind.NOTICE, due_at=due_at))
        if remind_at is not None:
            reminder = email_row(kind=DeliveryKind.REMINDER, due_at=remind_at)
            rows.append(_cancelled(reminder, reason="read") if user_id in readers else reminder)
    return rows


def _cancelled(row: dict[str, Any], *, reason: str) -> dict[str, Any]:
    """A row as the natural order would have left it: cancelled before it was sent.

    An event that overtook the one it cancels (a read or an archive before the
    publish) gives the same ledger as the natural order, not a shorter one.
    """
    if row["status"] != DeliveryStatus.PENDING.value:
        return row
    return row | {"status": DeliveryStatus.CANCELLED.value, "last_error": reason}


async def _lock_audiences(session: AsyncSession, *, exclusive: bool) -> None:
    """Order a publish against a user becoming reachable; publishes run side by side.

    Each reads what the other writes (recipients, audience): two concurrent
    READ COMMITTED transactions would each miss the other and nobody would email
    the user. SQLite needs nothing: every transaction begins IMMEDIATE (see
    ``notifier.store.db``), so they run one at a time.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await session.execute(text(f"SELECT {function}(:key)"), {"key": AUDIENCE_LOCK})


async def _save_audience(session: AsyncSession, notice_id: UUID, user_ids: list[UUID]) -> None:
    if not user_ids:
        return
    statement = insert(session, NoticeAudience.__table__).on_conflict_do_nothing(
        index_elements=["notice_id", "user_id"]
    )
    await session.execute(statement, [{"notice_id": notice_id, "user_id": u} for u in user_ids])


async def handle_notice_published(
    session: AsyncSession, *, data: NoticePublishedV1, context: EventContext, now: datetime
) -> LedgerChange:
    await _lock_audiences(session, exclusive=False)
    notice = await _upsert_notice(
        session,
        data.notice_id,
        title=data.title,
        summary=data.summary,
        category=data.category,
        urgent=data.urgent,
        url=data.url,
        published_at=data.published_at,
        remind_after_seconds=data.remind_after_seconds,
    )
    user_ids = list(dict.fromkeys(data.recipient_ids))
    # Kept so that a recipient.updated arriving after this event still reaches its user.
    await _save_audience(session, data.notice_id, user_ids)
    rows = _email_rows(
        notice,
        user_ids=user_ids,
        recipients=await _recipients(session, user_ids),
        preferences=await _preferences(session, user_ids),
        readers=await _readers(session, data.notice_id) if data.remind_after_seconds else set(),
        context=context,
        now=now,
    )
    rows += await _webhook_rows(session, notice_id=data.notice_id, context=context, now=now)
    if notice.archived_at is not None:
        rows = [_cancelled(row, reason="archived") for row in rows]
    return LedgerChange(created=await _save_deliveries(session, rows))


async def deliver_to_latecomer(
    session: AsyncSession, *, user_id: UUID, context: EventContext, now: datetime
) -> LedgerChange:
    """Email a user who just became reachable every live notice of whose audience they are.

    Live: published, not archived, not read by the user. The rows are the ones
    the publish path makes (same ids), so any that exist already stay as they are.
    """
    await _lock_audiences(session, exclusive=True)
    notices = list(
        await session.scalars(
            select(Notice).where(
                Notice.notice_id.in_(
                    select(NoticeAudience.notice_id).where(NoticeAudience.user_id == user_id)
                ),
                Notice.published_at.is_not(None),
                Notice.archived_at.is_(None),
                Notice.notice_id.not_in(select(Read.notice_id).where(Read.user_id == user_id)),
            )
        )
    )
    recipients = await _recipients(session, [user_id])
    preferences = await _preferences(session, [user_id])
    rows = [
        row
        for notice in notices
        for row in _email_rows(
            notice,
            user_ids=[user_id],
            recipients=recipients,
            preferences=preferences,
            readers=set(),  # read notices are not live: none reach this point
            context=context,
            now=now,
        )
    ]
    return LedgerChange(created=await _save_deliveries(session, rows))


async def _cancel_pending(
    session: AsyncSession, *conditions: Any, reason: str, now: datetime
) -> int:
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.PENDING.value, *conditions)
        .values(status=DeliveryStatus.CANCELLED.value, last_error=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


async def handle_notice_read(
    session: AsyncSession, *, data: NoticeReadV1, context: EventContext, now: datetime
) -> LedgerChange:
    await session.execute(
        insert(session, Read)
        .values(notice_id=data.notice_id, user_id=data.user_id, read_at=data.read_at)
        .on_conflict_do_nothing(index_elements=["notice_id", "user_id"])
    )
    cancelled = await _cancel_pending(
        session,
        Delivery.notice_id == data.notice_id,
        Delivery.target_id == data.user_id,
        Delivery.kind == DeliveryKind.REMINDER.value,
        reason="read",
        now=now,
    )
    rows = await _webhook_rows(
        session, notice_id=data.notice_id, context=context, now=now, user_id=data.user_id
    )
    return LedgerChange(created=await _save_deliveries(session, rows), cancelled=cancelled)


async def handle_notice_archived(
    session: AsyncSession, *, data: NoticeArchivedV1, context: EventContext, now: datetime
) -> LedgerChange:
    await _upsert_notice(session, data.notice_id, archived_at=data.archived_at)
    cancelled = await _cancel_pending(
        session, Delivery.notice_id == data.notice_id, reason="archived", now=now
    )
    rows = await _webhook_rows(session, notice_id=data.notice_id, context=context, now=now)
    return LedgerChange(created=await _save_deliveries(session, rows), cancelled=cancelled)
