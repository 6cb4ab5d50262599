"""Claim, lease and record: how a due delivery is handed to a sender and settled.

A claim takes due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so dispatchers
share the work), re-checks each against the rules under today's facts, and leases
what is to be sent to a fresh fencing token. A result is recorded only while the
row is still pending under that token: a row cancelled in flight, or re-claimed
after its lease ran out, keeps what happened to it since, and only the attempt is
added to its history. A row that cannot be turned into a message fails alone, with
the reason in ``last_error``; the rest of the claim goes on.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple, cast
from uuid import UUID, uuid4

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.channels.base import Outcome, SendResult
from notifier.ledger.cancel import CancelReason
from notifier.ledger.facts import FactsT, columns_of
from notifier.ledger.rules import NoticeFacts, PreferenceFacts, RecipientFacts, email_schedule
from notifier.store.models import (
    Attempt,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notice,
    Preferences,
    Read,
    Recipient,
    WebhookEndpoint,
)
from notifier.store.upsert import insert

_DELIVERIES = cast(Table, Delivery.__table__)
_ENDPOINTS = cast(Table, WebhookEndpoint.__table__)
_ATTEMPTS = cast(Table, Attempt.__table__)
_NOTICES = cast(Table, Notice.__table__)
_RECIPIENTS = cast(Table, Recipient.__table__)
_PREFERENCES = cast(Table, Preferences.__table__)
_READS = cast(Table, Read.__table__)


class DueRow(NamedTuple):
    """What a sender and the recorder need of a claimed delivery."""

    id: UUID
    notice_id: UUID
    channel: str
    kind: str
    target_id: UUID
    attempt_count: int
    due_at: datetime
    last_error: str | None
    last_status_code: int | None
    urgent: bool
    body: bytes | None
    event_id: UUID
    event_time: datetime
    correlation_id: str | None
    traceparent: str | None


@dataclass(frozen=True, slots=True)
class EmailFacts:
    """What an email's message is made of: the notice and its recipient as they are now."""

    notice: NoticeFacts
    recipient: RecipientFacts


@dataclass(frozen=True, slots=True)
class WebhookFacts:
    url: str
    secrets: tuple[str, ...]


class UnsendableError(Exception):
    """This delivery can never become a message (e.g. a link that is not http(s))."""


class ClaimFate(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    CANCELLED = "cancelled"
    UNSENDABLE = "unsendable"


@dataclass(frozen=True, slots=True)
class Claimed:
    row: DueRow
    token: UUID
    message: Any  # what the dispatcher's ``prepare`` made of the row


@dataclass(frozen=True, slots=True)
class ClaimReport:
    claimed: list[Claimed]
    fates: dict[ClaimFate, int]


Prepare = Callable[[DueRow, EmailFacts | WebhookFacts], Any]


_NOTICE_COLUMNS = columns_of(_NOTICES, NoticeFacts)
_RECIPIENT_COLUMNS = columns_of(_RECIPIENTS, RecipientFacts)
_PREFERENCE_COLUMNS = columns_of(_PREFERENCES, PreferenceFacts)


def _due(channel: Channel) -> tuple[Any, ...]:
    """Pending rows of ``channel`` due by ``now`` that no live lease holds."""
    return (
        _DELIVERIES.c.status == DeliveryStatus.PENDING.value,
        _DELIVERIES.c.channel == channel.value,
        _DELIVERIES.c.due_at <= bindparam("now"),
        or_(
            _DELIVERIES.c.claimed_until.is_(None),
            _DELIVERIES.c.claimed_until < bindparam("now"),
        ),
    )


_DUE_COLUMNS = [_DELIVERIES.c[name] for name in DueRow._fields]
# ``now``, ``limit`` (and ``token``, ``lease``) are bound per claim, so each statement
# below is built and compiled once.
_READ = and_(
    _READS.c.notice_id == _DELIVERIES.c.notice_id,
    _READS.c.user_id == _DELIVERIES.c.target_id,
)
# Due emails with every fact their fate needs, in one statement. Only the deliveries
# are locked (FOR UPDATE OF, skipping rows another dispatcher holds).
_DUE_EMAILS = (
    select(
        *_DUE_COLUMNS,
        *_NOTICE_COLUMNS,
        *_RECIPIENT_COLUMNS,
        *_PREFERENCE_COLUMNS,
        _READS.c.user_id.is_not(None),
    )
    .select_from(
        _DELIVERIES.outerjoin(_NOTICES, _NOTICES.c.notice_id == _DELIVERIES.c.notice_id)
        .outerjoin(_RECIPIENTS, _RECIPIENTS.c.user_id == _DELIVERIES.c.target_id)
        .outerjoin(_PREFERENCES, _PREFERENCES.c.user_id == _DELIVERIES.c.target_id)
        .outerjoin(_READS, _READ)
    )
    .where(*_due(Channel.EMAIL))
    .order_by(_DELIVERIES.c.due_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True, of=_DELIVERIES)
)
_ENABLED_ENDPOINT = and_(_ENDPOINTS.c.id == _DELIVERIES.c.target_id, _ENDPOINTS.c.enabled.is_(True))
# A webhook's fate needs no rule: due, and its endpoint enabled (a disabled endpoint's
# deliveries wait until it is enabled again), it is sent. So the lease is one UPDATE
# of the due rows, returning what the message is made of (through subqueries: SQLite's
# RETURNING cannot name another table).
_ENDPOINT_OF_ROW = _ENDPOINTS.c.id == _DELIVERIES.c.target_id
_LEASE_WEBHOOKS = (
    update(_DELIVERIES)
    .where(
        _DELIVERIES.c.id.in_(
            select(_DELIVERIES.c.id)
            .select_from(_DELIVERIES.join(_ENDPOINTS, _ENABLED_ENDPOINT))
            .where(*_due(Channel.WEBHOOK))
            .order_by(_DELIVERIES.c.due_at)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True, of=_DELIVERIES)
        )
    )
    .values(
        claimed_until=bindparam("lease"),
        claim_token=bindparam("token"),
        attempt_count=_DELIVERIES.c.attempt_count + 1,
        updated_at=bindparam("now"),
    )
    .returning(
        *_DUE_COLUMNS,
        select(_ENDPOINTS.c.url).where(_ENDPOINT_OF_ROW).scalar_subquery(),
        select(_ENDPOINTS.c.secrets).where(_ENDPOINT_OF_ROW).scalar_subquery(),
    )
)
_DUE_ROW_WIDTH = len(DueRow._fields)


def _facts_or_none(facts: type[FactsT], values: Sequence[Any]) -> FactsT | None:
    """A left-joined row's facts, or None where the join found no row (its key is NULL)."""
    return None if values[0] is None else facts._make(values)


def _fate_of_email_row(
    row: DueRow, joined: Sequence[Any], now: datetime
) -> EmailFacts | datetime | CancelReason:
    notice_end = len(NoticeFacts._fields)
    recipient_end = notice_end + len(RecipientFacts._fields)
    preference_end = recipient_end + len(PreferenceFacts._fields)
    notice = _facts_or_none(NoticeFacts, joined[:notice_end])
    if notice is None:  # rows are made from a notice's facts; a vanished one is owed nothing
        return CancelReason.ARCHIVED
    recipient = _facts_or_none(RecipientFacts, joined[notice_end:recipient_end])
    fate = email_schedule(
        kind=DeliveryKind(row.kind),
        notice=notice,
        recipient=recipient,
        prefs=_facts_or_none(PreferenceFacts, joined[recipient_end:preference_end]),
        has_read=bool(joined[preference_end]),
        now=now,
    )
    if isinstance(fate, CancelReason) or fate > now:
        return fate
    assert recipient is not None  # email_schedule cancels an unknown recipient
    return EmailFacts(notice, recipient)


async def claim_due(
    session: AsyncSession,
    *,
    channel: Channel,
    limit: int,
    now: datetime,
    lease_seconds: float,
    prepare: Prepare,
) -> ClaimReport:
    """Lease up to ``limit`` due rows to one token; cancel, defer or fail the rest."""
    token, lease = uuid4(), now + timedelta(seconds=lease_seconds)
    if channel is Channel.WEBHOOK:
        return await _lease_webhooks(
            session, limit=limit, now=now, token=token, lease=lease, prepare=prepare
        )
    found = await session.execute(_DUE_EMAILS, {"now": now, "limit": limit})
    claimed: list[Claimed] = []
    counts: dict[ClaimFate, int] = {}
    changes: list[dict[str, Any]] = []
    for joined in found:
        row = DueRow._make(joined[:_DUE_ROW_WIDTH])
        fate = _fate_of_email_row(row, joined[_DUE_ROW_WIDTH:], now)
        if isinstance(fate, CancelReason):
            kind = ClaimFate.CANCELLED
            changes.append(
                _change(row, now, status=DeliveryStatus.CANCELLED, last_error=fate.value)
            )
        elif isinstance(fate, datetime):
            kind = ClaimFate.DEFERRED
            changes.append(_change(row, now, due_at=fate))
        else:
            try:
                message = prepare(row, fate)
            except UnsendableError as error:
                kind = ClaimFate.UNSENDABLE
                changes.append(_unsendable(row, now, error))
            else:
                kind = ClaimFate.SENT
                attempts = row.attempt_count + 1
                changes.append(
                    _change(
                        row, now, claimed_until=lease, claim_token=token, attempt_count=attempts
                    )
                )
                claimed.append(Claimed(row._replace(attempt_count=attempts), token, message))
        counts[kind] = counts.get(kind, 0) + 1
    if changes:
        await session.execute(_APPLY_CLAIM, changes)
    return ClaimReport(claimed, counts)


async def _lease_webhooks(
    session: AsyncSession,
    *,
    limit: int,
    now: datetime,
    token: UUID,
    lease: datetime,
    prepare: Prepare,
) -> ClaimReport:
    """The lease is one statement, so it needs no transaction of its own (the dispatcher
    runs it in ``single_statement_sessions``); marking a row unsendable is a second one,
    which a crash in between leaves to the lease's expiry: the row is leased and marked
    again."""
    leased = await session.execute(
        _LEASE_WEBHOOKS, {"now": now, "limit": limit, "token": token, "lease": lease}
    )
    claimed: list[Claimed] = []
    unsendable: list[dict[str, Any]] = []
    for joined in leased:
        row = DueRow._make(joined[:_DUE_ROW_WIDTH])  # attempt_count: this attempt's number
        url, secrets = joined[_DUE_ROW_WIDTH:]
        try:
            message = prepare(row, WebhookFacts(url, tuple(secrets)))
        except UnsendableError as error:
            unsendable.append(_unsendable(row, now, error))
        else:
            claimed.append(Claimed(row, token, message))
    if unsendable:
        await session.execute(_APPLY_CLAIM, unsendable)
    counts = {ClaimFate.SENT: len(claimed), ClaimFate.UNSENDABLE: len(unsendable)}
    return ClaimReport(claimed, {fate: n for fate, n in counts.items() if n})


def _unsendable(row: DueRow, now: datetime, error: UnsendableError) -> dict[str, Any]:
    return _change(row, now, status=DeliveryStatus.FAILED, last_error=str(error))


@dataclass(frozen=True, slots=True)
class Finished:
    """One send of a claimed delivery, as the recorder takes it."""

    claimed: Claimed
    result: SendResult
    started_at: datetime
    finished_at: datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    next_delay: Callable[[int, SendResult], float]  # (attempt that failed, its result) -> s


def _settled(item: Finished, now: datetime, policy: RetryPolicy) -> dict[str, Any]:
    row, result = item.claimed.row, item.result
    common = {"last_error": result.error, "last_status_code": result.status_code}
    if result.outcome is Outcome.DELIVERED:
        # Delivered when the receiver took it; the recorder writes that a little later.
        return _change(
            row, now, status=DeliveryStatus.DELIVERED, delivered_at=item.finished_at, **common
        )
    if result.outcome is Outcome.GONE:
        # The endpoint is disabled with it: the delivery waits, and enabling sends it.
        return _change(row, now, due_at=now, **common)
    if result.outcome is Outcome.RETRY and row.attempt_count < policy.max_attempts:
        delay = policy.next_delay(row.attempt_count, result)
        return _change(row, now, due_at=now + timedelta(seconds=delay), **common)
    return _change(row, now, status=DeliveryStatus.FAILED, **common)


async def record(
    session: AsyncSession, *, finished: Sequence[Finished], now: datetime, policy: RetryPolicy
) -> None:
    """Every attempt into the history; each row's new state only under its own claim."""
    if not finished:
        return
    await session.execute(
        insert(session, _ATTEMPTS),
        [
            {
                "delivery_id": item.claimed.row.id,
                "number": item.claimed.row.attempt_count,
                "started_at": item.started_at,
                "finished_at": item.finished_at,
                "outcome": item.result.outcome.value,
                "status_code": item.result.status_code,
                "error": item.result.error,
            }
            for item in finished
        ],
    )
    await session.execute(
        _APPLY_RESULT,
        [_settled(item, now, policy) | {"fence_token": item.claimed.token} for item in finished],
    )
    gone = {i.claimed.row.target_id for i in finished if i.result.outcome is Outcome.GONE}
    if gone:
        await session.execute(
            update(_ENDPOINTS)
            .where(_ENDPOINTS.c.id.in_(gone))
            .values(enabled=False, disabled_reason="410 Gone", updated_at=now)
        )


def _change(row: DueRow, now: datetime, **values: Any) -> dict[str, Any]:
    """One row of an executemany UPDATE: every row sets the same columns."""
    change: dict[str, Any] = {
        "delivery_id": row.id,
        "status": DeliveryStatus.PENDING.value,
        "due_at": row.due_at,
        "claimed_until": None,
        "claim_token": None,
        "attempt_count": row.attempt_count,
        "last_error": row.last_error,
        "last_status_code": row.last_status_code,
        "delivered_at": None,
        "updated_at": now,
    }
    for key, value in values.items():
        change[key] = value.value if isinstance(value, DeliveryStatus) else value
    return change


# executemany: SET takes every key of a row but the ones the WHERE binds.
_APPLY_CLAIM = update(_DELIVERIES).where(_DELIVERIES.c.id == bindparam("delivery_id"))
_APPLY_RESULT = update(_DELIVERIES).where(
    _DELIVERIES.c.id == bindparam("delivery_id"),
    _DELIVERIES.c.claim_token == bindparam("fence_token"),
    _DELIVERIES.c.status == DeliveryStatus.PENDING.value,
)
