"""Alembic environment of the notifier's store.

``notifier migrate`` hands over its connection (``config.attributes["connection"]``),
already in the transaction of ``migration_transaction``. Run by the ``alembic``
command (services/notifier/alembic.ini, for writing revisions) it opens
NOTIFIER_DATABASE_URL through the same transaction.
"""

import asyncio
from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from notifier.settings import Settings
from notifier.store.db import create_engine, migration_transaction
from notifier.store.models import Base, UTCDateTime


def render_item(type_: str, obj: object, _context: AutogenContext) -> str | Literal[False]:
    # A revision stays as written: it spells the column type out instead of importing
    # the models' (which may change after it).
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite alters most things only by recreating the table.
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
        # migration_transaction holds every revision in one transaction, SQLite's too.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_on_configured_database() -> None:
    engine = create_engine(Settings().database_url)
    try:
        async with migration_transaction(engine) as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("the notifier's migrations run on a database only (no --sql)")
handed_over = context.config.attributes.get("connection")
if handed_over is None:
    asyncio.run(run_migrations_on_configured_database())
else:
    run_migrations(handed_over)
