"""What the routes are given: kept on ``app.state``, handed out through ``Depends``.

A route reads and writes only inside ``Store.transaction()`` and answers after
it closed, so no response goes out before its transaction committed: a client
that sees a 2xx and asks again sees what it wrote.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.store.db import SessionFactory

Clock = Callable[[], datetime]
Probe = Callable[[], Awaitable[None]]


def _nothing() -> None:
    return None


@dataclass(frozen=True, kw_only=True)
class Store:
    session_factory: SessionFactory
    clock: Clock
    # Wakes the dispatcher; called after a commit that made a delivery due.
    on_ledger_changed: Callable[[], None] = field(default=_nothing)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.session_factory.begin() as session:
            yield session


@dataclass(kw_only=True)
class GaugeCache:
    """When /metrics last computed its database gauges: scrapes within ``max_age`` reuse them."""

    max_age_seconds: float
    computed_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def is_fresh(self) -> bool:
        return (
            self.computed_at is not None
            and time.monotonic() - self.computed_at < self.max_age_seconds
        )

    def mark_computed(self) -> None:
        self.computed_at = time.monotonic()


@dataclass(frozen=True, kw_only=True)
class Health:
    broker_probe: Probe | None  # None: this process does not consume, it needs no broker
    database_probe: Probe
    asyncapi_document: Callable[[], dict[str, Any]]
    metrics_token: str = ""  # empty: /metrics is open (keep it off the public ingress)
    gauges: GaugeCache = field(default_factory=lambda: GaugeCache(max_age_seconds=15.0))


def _store(request: Request) -> Store:
    return cast(Store, request.app.state.store)


def _health(request: Request) -> Health:
    return cast(Health, request.app.state.health)


def api_token(request: Request) -> str:
    """The bearer token of /v1."""
    return cast(str, request.app.state.api_token)


def link_signing_keys(request: Request) -> list[str]:
    """The keys unsubscribe links verify with (the first one signs them)."""
    return cast(list[str], request.app.state.link_signing_keys)


StoreDep = Annotated[Store, Depends(_store)]
HealthDep = Annotated[Health, Depends(_health)]
ApiTokenDep = Annotated[str, Depends(api_token)]
LinkKeysDep = Annotated[list[str], Depends(link_signing_keys)]
