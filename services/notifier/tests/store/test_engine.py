"""The PostgreSQL engine survives server-side disconnects without a ping per checkout."""

import uuid
from typing import Any

from notifier_testing import postgres_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifier.store.db import create_engine


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_pooled_connection_the_server_ended_while_idle_is_replaced_at_checkout() -> None:
    with postgres_database(f"notifier_engine_{uuid.uuid4().hex[:12]}") as url:
        engine = create_engine(url, ping_after_idle_seconds=0.0)
        admin = create_engine(url)
        try:
            ended = await _backend_pid(engine)
            async with admin.connect() as connection:
                await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": ended})
            assert await _backend_pid(engine) != ended
        finally:
            await engine.dispose()
            await admin.dispose()


async def test_a_connection_in_steady_use_is_not_pinged() -> None:
    with postgres_database(f"notifier_engine_{uuid.uuid4().hex[:12]}") as url:
        engine = create_engine(url, ping_after_idle_seconds=60.0)
        ping = engine.dialect.do_ping
        pinged: list[object] = []

        def counting_ping(dbapi_connection: Any) -> bool:
            pinged.append(dbapi_connection)
            return bool(ping(dbapi_connection))

        engine.dialect.do_ping = counting_ping  # type: ignore[method-assign]
        try:
            for _ in range(5):
                await _backend_pid(engine)
            assert pinged == []
        finally:
            await engine.dispose()
