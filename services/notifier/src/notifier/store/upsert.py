"""INSERT ... ON CONFLICT for the backend in use (SQLite and PostgreSQL share the API),
built once per backend.

Building a statement and its cache key costs more CPU than running it: at 100 events/s,
where a batch holds one event, building the consumer's statements anew for every batch
was about a tenth of the notifier's CPU (docs/notifier.md, "Benchmark"). A statement object used
again keeps its cache key, so SQLAlchemy finds its compiled form at once.
"""

import functools
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.store.db import dialect_of

Statement = TypeVar("Statement")
InsertFactory = Callable[[Any], Any]

_INSERTS: dict[str, InsertFactory] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def built_once(
    build: Callable[..., Statement],
) -> Callable[..., Statement]:
    """``build(insert, *args)`` run once per backend and ``args``, then its statement reused;
    call the result as ``statement(session, *args)``. ``insert`` is the backend's insert
    construct, offering ``on_conflict_do_nothing/do_update``."""

    @functools.cache
    def for_dialect(dialect: str, *args: Hashable) -> Statement:
        return build(_INSERTS[dialect], *args)

    def statement(session: AsyncSession, *args: Hashable) -> Statement:
        return for_dialect(dialect_of(session), *args)

    return statement
