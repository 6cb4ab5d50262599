"""Wake dispatchers in other processes when deliveries become due (PostgreSQL LISTEN/NOTIFY).

A writer that makes rows due calls ``announce_due`` in its own transaction; the
NOTIFY goes out when that transaction commits, never before, so a dispatcher that
wakes always finds the rows. Dispatchers keep polling as well: a lost connection
or a missed notification costs at most one poll interval, never a delivery.
On SQLite everything runs in one process, which wakes its dispatcher directly.
"""

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
import structlog
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.store.db import normalise_database_url

CHANNEL = "notifier_deliveries_due"
RECONNECT_SECONDS = 2.0

logger = structlog.get_logger("notifier.wakeups")


def is_postgresql_url(database_url: str) -> bool:
    return make_url(normalise_database_url(database_url)).get_backend_name() == "postgresql"


async def announce_due(session: AsyncSession) -> None:
    """Deliveries are due from this transaction's commit on (no-op on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"NOTIFY {CHANNEL}"))


async def listen_for_due(database_url: str, on_due: Callable[[], None]) -> None:
    """Call ``on_due`` on every announcement, reconnecting for ever; cancel to stop."""
    url = make_url(normalise_database_url(database_url)).set(drivername="postgresql")
    dsn = url.render_as_string(hide_password=False)

    while True:
        try:
            await _listen(dsn, on_due)
        except (OSError, asyncpg.PostgresError) as error:
            logger.warning("wakeup_listen_failed", error=repr(error))
        await asyncio.sleep(RECONNECT_SECONDS)


async def _listen(dsn: str, on_due: Callable[[], None]) -> None:
    """Until the connection is lost."""
    connection = await asyncpg.connect(dsn)
    lost = asyncio.Event()
    connection.add_termination_listener(lambda *_: lost.set())
    try:
        await connection.add_listener(CHANNEL, lambda *_: on_due())
        on_due()  # whatever became due while nobody listened
        await lost.wait()
        logger.warning("wakeup_listen_lost")
    finally:
        with contextlib.suppress(Exception):
            await connection.close()
