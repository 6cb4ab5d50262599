"""Which partitions a relay publishes, and when it wakes up.

PostgreSQL: every partition is owned by at most one relay at a time through a
session-level advisory lock held on a dedicated connection. Each relay also holds
a shared "member" lock, so relays count each other in ``pg_locks``; each aims at
its fair share (partitions / relays), gives up extras between batches and takes
free ones. A relay that dies loses its session and with it its locks, so the
others pick its partitions up at their next rebalance. The same connection
LISTENs on the outbox channel: a commit that wrote outbox rows wakes the relays.

Ownership spreads the load; it is not what keeps order safe. Rows are claimed
with ``FOR UPDATE SKIP LOCKED`` and an aggregate is only published from its
oldest pending row, so even two relays briefly believing they own one partition
cannot publish an aggregate's events out of order.

SQLite: one relay owns everything and polls.
"""

import math
import random
import time
from typing import Any, Protocol

import psycopg
import structlog
from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from notices_api.outbox import metrics

log = structlog.get_logger(__name__)

# Second key of the shared lock every live relay holds; partitions use 0..32767.
MEMBER_KEY = 65535


class Coordinator(Protocol):
    def owned(self) -> tuple[int, ...]: ...

    def rebalance(self) -> None:
        """Take free partitions up to the fair share, give up extras. Between batches only."""
        ...

    def wait_for_work(self, timeout: float) -> bool:
        """Block until woken (True) or ``timeout`` passed (False)."""
        ...

    def close(self) -> None:
        """Release every partition."""
        ...


class SoleRelayCoordinator:
    """One relay for the whole outbox (SQLite): owns every partition and polls."""

    def __init__(self, *, partitions: int) -> None:
        self._all = tuple(range(partitions))
        metrics.OWNED_PARTITIONS.set(partitions)

    def owned(self) -> tuple[int, ...]:
        return self._all

    def rebalance(self) -> None:
        return None

    def wait_for_work(self, timeout: float) -> bool:
        time.sleep(timeout)
        return False

    def close(self) -> None:
        metrics.OWNED_PARTITIONS.set(0)


class AdvisoryLockCoordinator:
    """Partitions owned through PostgreSQL advisory locks, woken by LISTEN/NOTIFY."""

    def __init__(
        self, *, partitions: int, namespace: int, notify_channel: str, database: str = "default"
    ) -> None:
        self._partitions = partitions
        self._namespace = namespace
        self._notify_channel = notify_channel
        self._database = database
        self._wrapper: BaseDatabaseWrapper | None = None
        self._owned: set[int] = set()

    def owned(self) -> tuple[int, ...]:
        return tuple(sorted(self._owned))

    def rebalance(self) -> None:
        try:
            connection = self._session()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                    " AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 2",
                    [self._namespace, MEMBER_KEY],
                )
                row = cursor.fetchone()
                relays = max(1, row[0] if row else 1)
                fair_share = math.ceil(self._partitions / relays)
                extra = max(0, len(self._owned) - fair_share)
                for partition in sorted(self._owned, reverse=True)[:extra]:
                    cursor.execute(
                        "SELECT pg_advisory_unlock(%s, %s)", [self._namespace, partition]
                    )
                    self._owned.discard(partition)
                free = [p for p in range(self._partitions) if p not in self._owned]
                random.shuffle(free)  # relays starting together should not race for the same ones
                for partition in free:
                    if len(self._owned) >= fair_share:
                        break
                    cursor.execute(
                        "SELECT pg_try_advisory_lock(%s, %s)", [self._namespace, partition]
                    )
                    taken = cursor.fetchone()
                    if taken and taken[0]:
                        self._owned.add(partition)
        except psycopg.Error as error:
            # The session (and every lock it held) may be gone: own nothing until a new one.
            log.warning("outbox_relay_lock_session_lost", error=repr(error))
            self._drop_session()
        metrics.OWNED_PARTITIONS.set(len(self._owned))

    def wait_for_work(self, timeout: float) -> bool:
        woken = False
        try:
            connection = self._session()
            woken = any(True for _ in connection.notifies(timeout=timeout, stop_after=1))
            # Several commits may have notified: drain them, one wake-up is enough.
            if woken:
                for _ in connection.notifies(timeout=0):
                    pass
        except psycopg.Error as error:
            # Lost while waiting or while draining: either way a new session next time.
            log.warning("outbox_relay_lock_session_lost", error=repr(error))
            self._drop_session()
            if not woken:
                time.sleep(timeout)
        return woken

    def close(self) -> None:
        self._drop_session()

    def _session(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._wrapper is None:
            wrapper = connections.create_connection(self._database)
            wrapper.ensure_connection()
            wrapper.set_autocommit(True)
            connection: psycopg.Connection[tuple[Any, ...]] = wrapper.connection
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_lock_shared(%s, %s)", [self._namespace, MEMBER_KEY]
                )
                cursor.execute(f'LISTEN "{self._notify_channel}"')
            self._wrapper = wrapper
        return self._wrapper.connection  # type: ignore[no-any-return]

    def _drop_session(self) -> None:
        wrapper, self._wrapper = self._wrapper, None
        self._owned.clear()
        metrics.OWNED_PARTITIONS.set(0)
        if wrapper is not None:
            try:
                # Closing the session releases its advisory locks.
                wrapper.close()
            except (DatabaseError, psycopg.Error) as error:
                log.debug("outbox_relay_lock_session_close_failed", error=repr(error))
