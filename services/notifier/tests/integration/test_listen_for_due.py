"""A dispatcher wakes on another process's commit, for the channels it created, and not
on the echo of its own (woken directly already); the sessions a claim runs in."""

import asyncio
import contextlib

from integration_harness import migrated
from sqlalchemy import text

from notifier.store.db import (
    claim_sessions,
    create_claim_engine,
    create_engine,
    create_session_factory,
    wake_origin,
)
from notifier.store.models import Channel
from notifier.store.wakeups import EVERY_CHANNEL, announce_due, listen_for_due


async def test_a_dispatcher_wakes_for_what_others_commit_and_skips_its_own_echo(
    database_url: str,
) -> None:
    await migrated({"NOTIFIER_DATABASE_URL": database_url})
    engine = create_engine(database_url)
    own, other = create_session_factory(engine), create_session_factory(engine)
    woken: asyncio.Queue[frozenset[Channel]] = asyncio.Queue()
    listener = asyncio.create_task(
        listen_for_due(database_url, woken.put_nowait, own_origin=wake_origin(own))
    )
    try:
        assert await asyncio.wait_for(woken.get(), 10) == EVERY_CHANNEL  # on connecting
        async with own.begin() as session:
            await announce_due(session, [Channel.EMAIL])
        async with other.begin() as session:
            await announce_due(session, [Channel.WEBHOOK])

        assert await asyncio.wait_for(woken.get(), 10) == {Channel.WEBHOOK}
        await asyncio.sleep(0.2)
        assert woken.empty()  # the own announcement, committed first, woke nothing
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await engine.dispose()


async def test_a_claim_session_commits_each_statement_on_its_own_without_waiting_for_the_flush(
    database_url: str,
) -> None:
    """What a claim runs in: no BEGIN and COMMIT round trips, no wait for the WAL flush."""
    engine, claim_engine = create_engine(database_url), create_claim_engine(database_url)
    assert claim_engine is not None
    transactional = create_session_factory(engine)
    claiming = claim_sessions(transactional, claim_engine)
    try:
        for factory, statements_share_a_transaction, synchronous_commit in (
            (transactional, True, "on"),
            (claiming, False, "off"),
        ):
            async with factory.begin() as session:
                first = await session.scalar(text("SELECT txid_current()"))
                second = await session.scalar(text("SELECT txid_current()"))
                assert await session.scalar(text("SHOW synchronous_commit")) == synchronous_commit
            assert (first == second) is statements_share_a_transaction
        assert wake_origin(claiming) == wake_origin(transactional)
    finally:
        await engine.dispose()
        await claim_engine.dispose()


def test_sqlite_has_no_claim_engine_its_claims_run_in_transactions() -> None:
    assert create_claim_engine("sqlite+aiosqlite:///:memory:") is None
