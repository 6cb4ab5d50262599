"""Unit-test fixtures: a fresh SQLite store per test, a settable clock, fake channels."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from notifier_testing import FakeClock
from sqlalchemy.ext.asyncio import AsyncEngine

from notifier.api import create_api
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


@pytest.fixture
def api(session_factory: SessionFactory) -> Any:
    """The HTTP API alone: a throwaway token, no broker, a database that is always up."""

    async def up() -> None:
        return None

    return create_api(
        session_factory=session_factory,
        api_token="t",
        broker_probe=None,
        database_probe=up,
        asyncapi_document=dict,
    )
