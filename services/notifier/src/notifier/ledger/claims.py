"""Claim, lease and record: how a due delivery is handed to a sender and settled.

A claim leases due rows to a fresh fencing token (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so dispatchers share the work), re-checks each against the rules under
today's facts, and gives back, unattempted, the ones the rules defer or cancel. A
result is recorded only while the row is still pending under that token: a row
cancelled in flight, or re-claimed after its lease ran out, keeps what happened to it
since, and only the attempt is added to its history. A row that cannot be turned into
a message fails alone, with the reason in ``last_error``; the rest of the claim goes on.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple, cast
from uuid import UUID, uuid4

from sqlalchemy import Table, and_, bindparam, insert, or_, select, update
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

_DELIVERIES = cast(Table, Delivery.__table__)
_ENDPOINTS = cast(Table, WebhookEndpoint.__table__)
_ATTEMPTS = cast(Table, Attempt.__table__)
_ATTEMPT_INSERT = insert(_ATTEMPTS)
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
_ENDPOINT_OF_ROW = _ENDPOINTS.c.id == _DELIVERIES.c.target_id
_ENABLED_ENDPOINT = and_(_ENDPOINT_OF_ROW, _ENDPOINTS.c.enabled.is_(True))


def _lease(channel: Channel, *returning: Any, due_from: Any = _DELIVERIES) -> Any:
    """One UPDATE that leases the oldest due rows of ``channel`` to a token and returns
    them: atomic on its own, so it needs no transaction around it. ``now``, ``limit``,
    ``token`` and ``lease`` are bound per claim, so it is built and compiled once."""
    return (
        update(_DELIVERIES)
        .where(
            _DELIVERIES.c.id.in_(
                select(_DELIVERIES.c.id)
                .select_from(due_from)
                .where(*_due(channel))
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
        .returning(*_DUE_COLUMNS, *returning)
    )


# An email's fate is decided by the rules under today's facts, read right after its
# lease; the rows the rules do not send are then given back with their fate.
_LEASE_EMAILS = _lease(Channel.EMAIL)
_READ = and_(
    _READS.c.notice_id == _DELIVERIES.c.notice_id,
    _READS.c.user_id == _DELIVERIES.c.target_id,
)
_EMAIL_FACTS = (
    select(
        _DELIVERIES.c.id,
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
    .where(_DELIVERIES.c.id.in_(bindparam("ids", expanding=True)))
)
# A webhook's fate needs no rule: due, and its endpoint enabled (a disabled endpoint's
# deliveries wait until it is enabled again), it is sent. So its lease returns what the
# message is made of (through subqueries: SQLite's RETURNING cannot name another table).
_LEASE_WEBHOOKS = _lease(
    Channel.WEBHOOK,
    select(_ENDPOINTS.c.url).where(_ENDPOINT_OF_ROW).scalar_subquery(),
    select(_ENDPOINTS.c.secrets).where(_ENDPOINT_OF_ROW).scalar_subquery(),
    due_from=_DELIVERIES.join(_ENDPOINTS, _ENABLED_ENDPOINT),
)
_DUE_ROW_WIDTH = len(DueRow._fields)
_DUE_ROW_INDEX_OF_DUE_AT = DueRow._fields.index("due_at")


def _facts_or_none(facts: type[FactsT], values: Sequence[Any]) -> FactsT | None:
    """A left-joined row's facts, or None where the join found no row (its key is NULL)."""
    return None if values[0] is None else facts._make(values)


def _fate_of_email(
    row: DueRow, joined: Sequence[Any] | None, now: datetime
) -> EmailFacts | datetime | CancelReason:
    """What the rules make of a leased email: its facts to send it, a later due time, or
    why it is owed nothing. ``joined`` is its facts row (None if the row vanished)."""
    if joined is None:
        return CancelReason.ARCHIVED
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
    """Lease up to ``limit`` due rows to one token; give back, with their fate, the ones
    the rules cancel or defer and the ones that cannot become a message.

    Each step is one statement, so on PostgreSQL the dispatcher runs them without a
    transaction (``store.db.create_claim_engine``): the lease is atomic, and each fate is
    written only while the row is still pending under the token. A crash between two
    steps leaves the leased rows to the lease's expiry; they are leased and judged again.
    """
    token, lease = uuid4(), now + timedelta(seconds=lease_seconds)
    statement = _LEASE_EMAILS if channel is Channel.EMAIL else _LEASE_WEBHOOKS
    found = await session.execute(
        statement, {"now": now, "limit": limit, "token": token, "lease": lease}
    )
    # RETURNING keeps no order; the oldest due are sent first.
    leased = sorted(found, key=lambda joined: joined[_DUE_ROW_INDEX_OF_DUE_AT])
    # Each row's attempt_count is the number of the attempt it is leased for.
    rows = [DueRow._make(joined[:_DUE_ROW_WIDTH]) for joined in leased]
    if channel is Channel.EMAIL:
        facts = await _email_facts(session, [row.id for row in rows])
        fates: list[EmailFacts | WebhookFacts | datetime | CancelReason] = [
            _fate_of_email(row, facts.get(row.id), now) for row in rows
        ]
    else:
        fates = [WebhookFacts(joined[-2], tuple(joined[-1])) for joined in leased]
    claimed: list[Claimed] = []
    counts: dict[ClaimFate, int] = {}
    given_back: list[dict[str, Any]] = []
    for row, fate in zip(rows, fates, strict=True):
        back: dict[str, Any] | None = None
        if isinstance(fate, CancelReason):
            kind = ClaimFate.CANCELLED
            back = {"status": DeliveryStatus.CANCELLED, "last_error": fate.value}
        elif isinstance(fate, datetime):
            kind, back = ClaimFate.DEFERRED, {"due_at": fate}
        else:
            try:
                claimed.append(Claimed(row, token, prepare(row, fate)))
                kind = ClaimFate.SENT
            except UnsendableError as error:
                kind = ClaimFate.UNSENDABLE
                back = {"status": DeliveryStatus.FAILED, "last_error": str(error)}
        if back is not None:
            given_back.append(_given_back(row, token, now, **back))
        counts[kind] = counts.get(kind, 0) + 1
    if given_back:
        await session.execute(_APPLY_RESULT, given_back)
    return ClaimReport(claimed, counts)


def _given_back(row: DueRow, token: UUID, now: datetime, **values: Any) -> dict[str, Any]:
    """A leased row returned unattempted, with its fate, to whatever claims it next."""
    unattempted = row._replace(attempt_count=row.attempt_count - 1)
    return _change(unattempted, now, **values) | {"fence_token": token}


async def _email_facts(session: AsyncSession, ids: list[UUID]) -> dict[UUID, Sequence[Any]]:
    if not ids:
        return {}
    found = await session.execute(_EMAIL_FACTS, {"ids": ids})
    return {joined[0]: joined[1:] for joined in found}


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
        _ATTEMPT_INSERT,
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


# executemany: SET takes every key of a row but the ones the WHERE binds; a row's new
# state applies only while it is pending under the claim that decided it.
_APPLY_RESULT = update(_DELIVERIES).where(
    _DELIVERIES.c.id == bindparam("delivery_id"),
    _DELIVERIES.c.claim_token == bindparam("fence_token"),
    _DELIVERIES.c.status == DeliveryStatus.PENDING.value,
)
