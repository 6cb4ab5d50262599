"""Unit-test fixtures: a fresh SQLite store per test, a settable clock, fake channels."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from notifier_testing import FakeClock
from sqlalchemy.ext.asyncio import AsyncEngine

from notifier.store.db import SessionFactory, create_engine, create_session_factory, migrate
from notifier_devtools.fakes import FakeEmailChannel, FakeWebhookChannel


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'notifier.sqlite3'}")
    await migrate(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_email() -> FakeEmailChannel:
    return FakeEmailChannel()


@pytest.fixture
def fake_webhooks() -> FakeWebhookChannel:
    return FakeWebhookChannel()
