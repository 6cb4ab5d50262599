"""Helpers of the integration tests: run the notifier in-process, publish like the relay."""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from unittest.mock import patch

import aio_pika
from notifier_testing import wire_bytes

from notices_contracts import CloudEvent, amqp_properties
from notifier.app import Notifier, build_notifier, shutdown, start_consuming
from notifier.settings import Settings
from notifier.store.db import create_engine, migrate

API_TOKEN = "test-token"


def settings_from(env: dict[str, str]) -> Settings:
    """Read as `notifier run` reads them: from the environment."""
    with patch.dict(os.environ, env):
        return Settings()


async def migrated(env: dict[str, str]) -> None:
    engine = create_engine(env["NOTIFIER_DATABASE_URL"])
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


@asynccontextmanager
async def running_notifier(env: dict[str, str]) -> AsyncIterator[Notifier]:
    """The notifier in this process: consumer and dispatcher (the API is called over ASGI)."""
    await migrated(env)
    notifier = build_notifier(settings_from(env))
    await start_consuming(notifier)
    dispatcher = asyncio.create_task(notifier.dispatcher.run())
    try:
        yield notifier
    finally:
        dispatcher.cancel()
        await asyncio.gather(dispatcher, return_exceptions=True)
        await shutdown(notifier)


@dataclass
class Publisher:
    channel: aio_pika.abc.AbstractChannel
    exchange: aio_pika.abc.AbstractExchange

    async def event(self, event: CloudEvent[Any]) -> None:
        await self.raw(
            wire_bytes(event), routing_key=amqp_properties(event).routing_key, event=event
        )

    async def raw(
        self, body: bytes, *, routing_key: str, event: CloudEvent[Any] | None = None, **extra: Any
    ) -> None:
        properties: dict[str, Any] = {"delivery_mode": aio_pika.DeliveryMode.PERSISTENT}
        if event is not None:
            props = amqp_properties(event)
            properties |= {
                "message_id": props.message_id,
                "type": props.type,
                "timestamp": props.timestamp,
                "correlation_id": props.correlation_id,
                "content_type": props.content_type,
                "headers": props.headers,
            }
        await self.exchange.publish(
            aio_pika.Message(body=body, **(properties | extra)), routing_key=routing_key
        )


@asynccontextmanager
async def publisher(env: dict[str, str]) -> AsyncIterator[Publisher]:
    """Publishes like the outbox relay: persistent, with confirms, to the events exchange."""
    connection = await aio_pika.connect(env["AMQP_URL"])
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            env["NOTIFIER_EXCHANGE"], aio_pika.ExchangeType.TOPIC, durable=True
        )
        yield Publisher(channel, exchange)


async def eventually(check: Any, *, within: float = 60.0, interval: float = 0.1) -> Any:
    """Await ``check()`` until it returns something truthy; fail after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not (result := await check()):  # noqa: ASYNC110 - polls a database, no event to await
            await asyncio.sleep(interval)
    return result
