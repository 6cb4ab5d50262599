"""Wake dispatchers in other processes when deliveries become due (PostgreSQL LISTEN/NOTIFY).

A writer that makes rows due calls ``announce_due`` in its own transaction; the
NOTIFY goes out when that transaction commits, never before, so a dispatcher that
wakes always finds the rows. Dispatchers keep polling as well: a lost connection
or a missed notification costs at most one poll interval, never a delivery.
On SQLite everything runs in one process, which wakes its dispatcher directly.

The payload names the announcing session factory and the channels of the new rows,
so that a dispatcher wakes only the lanes that have something new, and skips the echo
of its own process's writes, which woke it directly at commit. An empty payload (what
a writer of an earlier release sends) wakes every lane.
"""

import asyncio
import contextlib
from collections.abc import Callable, Iterable

import asyncpg
import structlog
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.store.db import WAKE_ORIGIN, normalise_database_url, on_postgresql
from notifier.store.models import Channel

CHANNEL = "notifier_deliveries_due"
RECONNECT_SECONDS = 2.0

# Called with the channels that have new due rows.
OnDue = Callable[[frozenset[Channel]], None]
EVERY_CHANNEL = frozenset(Channel)
_CHANNELS = {channel.value: channel for channel in Channel}
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")

logger = structlog.get_logger("notifier.wakeups")


async def announce_due(session: AsyncSession, channels: Iterable[Channel] = EVERY_CHANNEL) -> None:
    """Deliveries of ``channels`` are due from this transaction's commit on (no-op on SQLite)."""
    if on_postgresql(session):
        await session.execute(
            _NOTIFY,
            {"channel": CHANNEL, "payload": _payload(session.info.get(WAKE_ORIGIN, ""), channels)},
        )


def _payload(origin: str, channels: Iterable[Channel]) -> str:
    return f"{origin} {','.join(sorted(channel.value for channel in set(channels)))}"


def due_channels(payload: str, *, own_origin: str) -> frozenset[Channel]:
    """The lanes a notification wakes: none for an echo of ``own_origin``'s own writes."""
    origin, _, names = payload.partition(" ")
    if origin and origin == own_origin:
        return frozenset()
    known = {_CHANNELS[name] for name in names.split(",") if name in _CHANNELS}
    return frozenset(known) or EVERY_CHANNEL


async def listen_for_due(database_url: str, on_due: OnDue, *, own_origin: str) -> None:
    """Call ``on_due`` on every announcement from elsewhere, reconnecting for ever; cancel
    to stop. ``own_origin``: the session factory whose writes already woke ``on_due``."""
    url = make_url(normalise_database_url(database_url)).set(drivername="postgresql")
    dsn = url.render_as_string(hide_password=False)

    while True:
        try:
            await _listen(dsn, on_due, own_origin)
        except (OSError, asyncpg.PostgresError) as error:
            logger.warning("wakeup_listen_failed", error=repr(error))
        await asyncio.sleep(RECONNECT_SECONDS)


async def _listen(dsn: str, on_due: OnDue, own_origin: str) -> None:
    """Until the connection is lost."""
    connection = await asyncpg.connect(dsn)
    lost = asyncio.Event()
    connection.add_termination_listener(lambda *_: lost.set())

    def notified(_connection: object, _pid: int, _channel: str, payload: str) -> None:
        channels = due_channels(payload, own_origin=own_origin)
        if channels:
            on_due(channels)

    try:
        await connection.add_listener(CHANNEL, notified)
        on_due(EVERY_CHANNEL)  # whatever became due while nobody listened
        await lost.wait()
        logger.warning("wakeup_listen_lost")
    finally:
        with contextlib.suppress(Exception):
            await connection.close()
