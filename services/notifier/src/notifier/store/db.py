"""Engine, sessions and schema migrations.

The schema is what the Alembic revisions under ``migrations/versions`` build, and
``migrate`` is the one way it changes; a test keeps the head revision equal to the
models.
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, inspect, make_url, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from notifier.store.models import Base

SessionFactory = async_sessionmaker[AsyncSession]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# A PostgreSQL advisory lock key of this service's own (any 64-bit constant).
MIGRATION_LOCK = 0x6E6F74696D696772


def normalise_database_url(url: str) -> str:
    """Accept the plain ``postgres://`` and ``sqlite://`` forms operators tend to write."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    return url


# A connection back in use within this long is not pinged first (see _ping_when_idle).
PING_AFTER_IDLE_SECONDS = 1.0


def create_engine(
    database_url: str, *, ping_after_idle_seconds: float = PING_AFTER_IDLE_SECONDS
) -> AsyncEngine:
    url = make_url(normalise_database_url(database_url))
    if url.get_backend_name() != "sqlite":
        engine = create_async_engine(url, pool_size=10, max_overflow=10)
        _ping_when_idle(engine, after_seconds=ping_after_idle_seconds)
        return engine
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" hook below opens them
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that reads, then writes,
        # fails with SQLITE_BUSY when another connection committed in between.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _ping_when_idle(engine: AsyncEngine, *, after_seconds: float) -> None:
    """Ping a pooled connection at checkout only when it sat idle ``after_seconds`` or more.

    ``pool_pre_ping`` pings at every checkout: a third of the busy notifier's database
    time went to it. A connection the server ended (a restart, a terminated session)
    is found on its first checkout after the idle time and replaced, as pre-ping would;
    one ended within the idle time fails its statement, which every caller already
    handles (the transaction rolls back and is tried again on a fresh connection).
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < after_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError("pooled connection failed its ping") from error
        if not alive:
            raise DisconnectionError("pooled connection failed its ping")


# The ``info`` key of a session that names its factory when it announces due deliveries:
# a dispatcher woken directly by its own process's writes skips their NOTIFY echo.
WAKE_ORIGIN = "wake_origin"


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False, info={WAKE_ORIGIN: uuid4().hex})


def create_claim_engine(database_url: str) -> AsyncEngine | None:
    """On PostgreSQL, the engine of the dispatcher's claims, whose every statement commits
    on its own and without waiting for its WAL flush; None on SQLite.

    Each step of a claim (``ledger.claims.claim_due``) is one atomic statement, so it
    needs no BEGIN and COMMIT round trips. A claim that a PostgreSQL crash forgets (the
    last fraction of a second of them) only puts its rows back to be claimed again, as an
    expired lease does; and a later commit that waits for its flush, such as the record of
    the send, makes the claim durable first, since the WAL is written in order. On a busy
    dispatcher this halved a lease's latency (2.2 to 1.0 ms a lease in a
    ``make bench-notifier`` probe). SQLite's transactions must begin IMMEDIATE
    (``create_engine``) and one process writes there at a time anyway: its claims run
    in ordinary transactions.
    """
    if not is_postgresql_url(database_url):
        return None
    engine = create_async_engine(
        normalise_database_url(database_url),
        pool_size=2,  # a claim at a time per lane
        max_overflow=2,
        isolation_level="AUTOCOMMIT",
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _commit_without_waiting_for_the_flush(dbapi_connection: Any, _record: Any) -> None:
        # A SET, not a startup parameter: PgBouncer refuses startup parameters it does
        # not know, and keeps a SET for the session in its session mode.
        dbapi_connection.run_async(
            lambda connection: connection.execute("SET synchronous_commit = off")
        )

    _ping_when_idle(engine, after_seconds=PING_AFTER_IDLE_SECONDS)
    return engine


def claim_sessions(
    session_factory: SessionFactory, claim_engine: AsyncEngine | None
) -> SessionFactory:
    """Sessions on ``claim_engine`` that announce under ``session_factory``'s origin, or
    ``session_factory`` itself where there is no claim engine."""
    if claim_engine is None:
        return session_factory
    return async_sessionmaker(claim_engine, expire_on_commit=False, info=session_factory.kw["info"])


def wake_origin(session_factory: SessionFactory) -> str:
    """The origin every session of ``session_factory`` announces under."""
    origin: str = session_factory.kw["info"][WAKE_ORIGIN]
    return origin


def is_postgresql(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def on_postgresql(session: AsyncSession) -> bool:
    return dialect_of(session) == "postgresql"


def is_postgresql_url(database_url: str) -> bool:
    return make_url(normalise_database_url(database_url)).get_backend_name() == "postgresql"


class DanglingRowsError(RuntimeError):
    """A migration left rows that refer to a missing row; it is rolled back."""


@dataclass(frozen=True)
class MigrationReport:
    # True for a database of the create-only migrate (before Alembic): the first
    # revision takes it over, creating only the tables it lacks, then the rest apply.
    adopted: bool
    # The revisions applied, oldest first, as "<revision> (<message>)".
    applied: tuple[str, ...]


def alembic_config(connection: Connection) -> Config:
    """The Alembic configuration that runs the package's migrations on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> MigrationReport:
    """Upgrade the schema to the newest revision, in one transaction."""
    async with migration_transaction(engine) as connection:
        return await connection.run_sync(_upgrade_to_head)


async def pending_revisions(engine: AsyncEngine) -> tuple[str, ...]:
    """The revisions ``migrate`` would apply, oldest first; changes nothing."""
    async with engine.connect() as connection:
        return await connection.run_sync(_pending)


def _pending(connection: Connection) -> tuple[str, ...]:
    current = MigrationContext.configure(connection).get_current_revision()
    scripts = ScriptDirectory.from_config(alembic_config(connection))
    return tuple(
        script.revision for script in reversed(list(scripts.iterate_revisions("head", current)))
    )


def _upgrade_to_head(connection: Connection) -> MigrationReport:
    config = alembic_config(connection)
    current = MigrationContext.configure(connection).get_current_revision()
    adopted = current is None and bool(
        set(inspect(connection).get_table_names()) & set(Base.metadata.tables)
    )
    command.upgrade(config, "head")
    pending = ScriptDirectory.from_config(config).iterate_revisions("head", current)
    return MigrationReport(
        adopted=adopted,
        applied=tuple(f"{script.revision} ({script.doc})" for script in reversed(list(pending))),
    )


@asynccontextmanager
async def migration_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction for schema changes, committed when the block ends.

    On PostgreSQL they run one at a time (an advisory lock held until the commit):
    replicas that each migrate as they start wait for each other instead of failing
    on the same CREATE TABLE. SQLite's transactions begin IMMEDIATE, one at a time too.

    On SQLite, foreign keys are not enforced during it: a batch ALTER recreates a table,
    and dropping the old copy with enforcement on would cascade-delete the rows that
    refer to it (a delivery's attempts). Before committing, ``PRAGMA foreign_key_check``
    refuses rows left without their parent.
    """
    async with engine.connect() as connection:
        on_sqlite = connection.dialect.name == "sqlite"
        if on_sqlite:
            # PRAGMA foreign_keys is a no-op inside a transaction: set before it begins.
            await connection.run_sync(_enforce_sqlite_foreign_keys, False)
        try:
            async with connection.begin():
                if is_postgresql(engine):
                    await connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                yield connection
                if on_sqlite:
                    await connection.run_sync(_refuse_dangling_rows)
        finally:
            if on_sqlite:
                await connection.run_sync(_enforce_sqlite_foreign_keys, True)


def _enforce_sqlite_foreign_keys(connection: Connection, enforce: bool) -> None:
    # On the DBAPI connection: a statement through SQLAlchemy would begin a transaction.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PRAGMA foreign_keys={'ON' if enforce else 'OFF'}")
    cursor.close()


def _refuse_dangling_rows(connection: Connection) -> None:
    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if dangling:
        raise DanglingRowsError(f"rows whose parent is missing (table, rowid, parent): {dangling}")


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
