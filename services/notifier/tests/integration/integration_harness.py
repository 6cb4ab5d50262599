"""Helpers of the integration tests: run the notifier in-process or as `notifier run`, publish
like the relay."""

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import patch

import aio_pika
import httpx
from notifier_testing import wire_bytes

from notices_contracts import CloudEvent, amqp_properties
from notifier.app import Notifier, build_notifier, shutdown, start_consuming
from notifier.settings import Settings
from notifier.store.db import create_engine, migrate

API_TOKEN = "integration-test-token-0123456789abcdef"
NOTIFIER = Path(sys.executable).with_name("notifier")


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
    user_id: str  # the connection's user, as the relay sets it (the notifier trusts it)

    async def event(self, event: CloudEvent[Any]) -> None:
        await self.raw(
            wire_bytes(event), routing_key=amqp_properties(event).routing_key, event=event
        )

    async def raw(
        self, body: bytes, *, routing_key: str, event: CloudEvent[Any] | None = None, **extra: Any
    ) -> None:
        properties: dict[str, Any] = {
            "delivery_mode": aio_pika.DeliveryMode.PERSISTENT,
            "user_id": self.user_id,
        }
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
        yield Publisher(channel, exchange, connection.url.user or "guest")


async def eventually(check: Any, *, within: float = 60.0, interval: float = 0.1) -> Any:
    """Await ``check()`` until it returns something truthy; fail after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not (result := await check()):  # noqa: ASYNC110 - polls a database, no event to await
            await asyncio.sleep(interval)
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _ready(env: dict[str, str], process: asyncio.subprocess.Process) -> bool:
    """Its queue is declared and bound once /readyz answers; publishing earlier loses events."""
    assert process.returncode is None, "the notifier exited"
    url = f"http://127.0.0.1:{env['NOTIFIER_API_PORT']}/readyz"
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(url)).status_code == 200
    except httpx.TransportError:
        return False


@asynccontextmanager
async def notifier_process(
    env: dict[str, str], log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            str(NOTIFIER), "run", env=os.environ | env, stdout=output, stderr=output
        )
    try:
        await eventually(lambda: _ready(env, process), within=120, interval=0.5)
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                await process.wait()
