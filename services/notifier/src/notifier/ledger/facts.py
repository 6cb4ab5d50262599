"""The facts the rules take, read in bulk: one statement per kind of fact and batch.

Every reader takes a whole batch's ids at once (chunked below the drivers' parameter
limits) and returns plain rows, so a batch of events or of due deliveries costs a
handful of statements however many rows it holds.
"""

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, TypeVar, cast
from uuid import UUID

from sqlalchemy import Select, Table, bindparam, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.ledger.rules import NoticeFacts, PreferenceFacts, RecipientFacts
from notifier.store.models import Notice, Preferences, Read, Recipient, WebhookEndpoint

# Keeps each IN (...) well below SQLite's and asyncpg's parameter limits.
LOOKUP_CHUNK = 2000

_NOTICES = cast(Table, Notice.__table__)
_RECIPIENTS = cast(Table, Recipient.__table__)
_PREFERENCES = cast(Table, Preferences.__table__)
_READS = cast(Table, Read.__table__)
_ENDPOINTS = cast(Table, WebhookEndpoint.__table__)


class Subscription(NamedTuple):
    """A webhook endpoint as creation needs it: who wants which event types."""

    endpoint_id: UUID
    event_types: list[str]


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), LOOKUP_CHUNK):
        yield items[start : start + LOOKUP_CHUNK]


FactsT = TypeVar("FactsT", NoticeFacts, RecipientFacts, PreferenceFacts)


def columns_of(table: Table, facts: type[FactsT]) -> list[Any]:
    """The columns of ``table`` that make ``facts``, in its field order (the key first)."""
    return [table.c[name] for name in facts._fields]


# Each statement is built once: building one, and its cache key, cost more CPU than
# running it (a batch of one event at 100 events/s, docs/notifier.md).
def _select_by_key(table: Table, facts: type[FactsT]) -> Select[Any]:
    columns = columns_of(table, facts)
    return select(*columns).where(columns[0].in_(bindparam("keys", expanding=True)))


_BY_KEY: dict[type[Any], Select[Any]] = {
    NoticeFacts: _select_by_key(_NOTICES, NoticeFacts),
    RecipientFacts: _select_by_key(_RECIPIENTS, RecipientFacts),
    PreferenceFacts: _select_by_key(_PREFERENCES, PreferenceFacts),
}
_READS_OF_NOTICES = select(_READS.c.notice_id, _READS.c.user_id).where(
    _READS.c.notice_id.in_(bindparam("notice_ids", expanding=True))
)
_READS_AMONG = select(_READS.c.notice_id, _READS.c.user_id).where(
    tuple_(_READS.c.notice_id, _READS.c.user_id).in_(bindparam("pairs", expanding=True))
)
_SUBSCRIPTIONS = select(_ENDPOINTS.c.id, _ENDPOINTS.c.event_types)


async def _by_key(
    session: AsyncSession, facts: type[FactsT], ids: Iterable[UUID]
) -> dict[UUID, FactsT]:
    """The rows of ``facts``' table whose key (the facts' first field) is among ``ids``."""
    statement = _BY_KEY[facts]
    found: dict[UUID, FactsT] = {}
    for chunk in _chunks(list(set(ids))):
        for row in await session.execute(statement, {"keys": list(chunk)}):
            found[row[0]] = facts._make(row)
    return found


async def notices(session: AsyncSession, notice_ids: Iterable[UUID]) -> dict[UUID, NoticeFacts]:
    return await _by_key(session, NoticeFacts, notice_ids)


async def recipients(session: AsyncSession, user_ids: Iterable[UUID]) -> dict[UUID, RecipientFacts]:
    return await _by_key(session, RecipientFacts, user_ids)


async def preferences(
    session: AsyncSession, user_ids: Iterable[UUID]
) -> dict[UUID, PreferenceFacts]:
    return await _by_key(session, PreferenceFacts, user_ids)


async def reads_of_notices(
    session: AsyncSession, notice_ids: Iterable[UUID]
) -> set[tuple[UUID, UUID]]:
    """Every (notice id, user id) read among these notices."""
    found: set[tuple[UUID, UUID]] = set()
    for chunk in _chunks(list(set(notice_ids))):
        rows = await session.execute(_READS_OF_NOTICES, {"notice_ids": list(chunk)})
        found.update((row.notice_id, row.user_id) for row in rows)
    return found


async def reads_among(
    session: AsyncSession, pairs: Iterable[tuple[UUID, UUID]]
) -> set[tuple[UUID, UUID]]:
    """Which of these (notice id, user id) pairs are read."""
    found: set[tuple[UUID, UUID]] = set()
    for chunk in _chunks(list(set(pairs))):
        rows = await session.execute(_READS_AMONG, {"pairs": list(chunk)})
        found.update((row.notice_id, row.user_id) for row in rows)
    return found


async def subscriptions(session: AsyncSession) -> list[Subscription]:
    rows = await session.execute(_SUBSCRIPTIONS)
    return [Subscription(row.id, list(row.event_types)) for row in rows]
