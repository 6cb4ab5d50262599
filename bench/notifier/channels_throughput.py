"""Throughput of the real channels on localhost (a measurement, not a test).

Starts the SMTP sink and the webhook receiver as separate processes, then pushes
messages through SmtpEmailChannel and HttpxWebhookChannel with N concurrent
senders. Prints messages/s per channel and concurrency level, and the CPU
seconds per 1,000 messages spent by this (sending) process and by the server,
which tells whether the sender or the local test server was the limit.

    uv run python bench/notifier/channels_throughput.py --messages 2000 --concurrency 10 50

SMTP connections = concurrency; webhook connections = min(concurrency, --max-connections).
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from notifier.channels.base import EmailMessage, SendResult, WebhookMessage
from notifier.channels.email import SmtpEmailChannel
from notifier.channels.webhook import HttpxWebhookChannel, new_webhook_secret

CLOUDEVENT = json.dumps(
    {
        "specversion": "1.0",
        "id": "01936f4e-0000-7000-8000-000000000000",
        "source": "/notices-api",
        "type": "notices.notice.published.v1",
        "datacontenttype": "application/json",
        "data": {"notice_id": "42", "title": "Boiler maintenance", "summary": "x" * 300},
    }
).encode()


@dataclass(frozen=True)
class Server:
    port: int
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@asynccontextmanager
async def devtool(name: str, *args: str) -> AsyncIterator[Server]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", f"notifier_devtools.{name}", "--port", str(port), *args),
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        yield Server(port=port, pid=process.pid)
    finally:
        process.terminate()
        await process.wait()


async def measure(
    label: str,
    send: Callable[[int], Awaitable[SendResult]],
    *,
    server: Server,
    messages: int,
    concurrency: int,
) -> None:
    outcomes: Counter[str] = Counter()
    errors: Counter[str | None] = Counter()
    numbers = iter(range(messages))

    async def sender() -> None:
        for number in numbers:
            result = await send(number)
            outcomes[result.outcome.value] += 1
            if result.error:
                errors[result.error] += 1

    server_cpu, own_cpu, started = server.cpu_seconds(), time.process_time(), time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    per_thousand = 1000 / messages
    print(
        f"{label:<8} concurrency={concurrency:<3} {messages / elapsed:7.0f}/s"
        f"  cpu per 1000: sender {(time.process_time() - own_cpu) * per_thousand:5.2f}s"
        f" server {(server.cpu_seconds() - server_cpu) * per_thousand:5.2f}s"
        f"  {dict(outcomes)}"
    )
    for error, count in errors.most_common(3):
        print(f"    {count} x {error}")


def an_email(number: int) -> EmailMessage:
    return EmailMessage(
        delivery_id=uuid.uuid4(),
        to_address=f"user{number}@example.org",
        subject="Boiler maintenance on Friday",
        text_body="The heating is off from 8 to 12.\n" * 10,
        html_body="<p>The heating is off from <b>8 to 12</b>.</p>\n" * 10,
        headers={"List-Unsubscribe": "<https://notices.example/u/abc>"},
    )


async def bench_email(*, sink: Server, concurrency: int, messages: int) -> None:
    channel = SmtpEmailChannel(
        host="127.0.0.1",
        port=sink.port,
        from_address="no-reply@notices.example",
        pool_size=concurrency,
    )
    try:
        await measure(
            "email",
            lambda n: channel.send(an_email(n)),
            server=sink,
            messages=messages,
            concurrency=concurrency,
        )
    finally:
        await channel.aclose()


async def bench_webhook(
    *, receiver: Server, secret: str, concurrency: int, max_connections: int, messages: int
) -> None:
    channel = HttpxWebhookChannel(
        allow_private_addresses=True, max_connections=min(concurrency, max_connections)
    )
    url = f"http://127.0.0.1:{receiver.port}/hook"
    try:
        await measure(
            "webhook",
            lambda _: channel.send(
                WebhookMessage(
                    delivery_id=uuid.uuid4(), url=url, secrets=(secret,), body=CLOUDEVENT
                )
            ),
            server=receiver,
            messages=messages,
            concurrency=concurrency,
        )
    finally:
        await channel.aclose()


async def main(*, messages: int, levels: list[int], max_connections: int) -> None:
    secret = new_webhook_secret()
    async with (
        devtool("smtp_sink") as sink,
        devtool("webhook_receiver", "--secret", secret) as receiver,
    ):
        for concurrency in levels:
            await bench_email(sink=sink, concurrency=concurrency, messages=messages)
            await bench_webhook(
                receiver=receiver,
                secret=secret,
                concurrency=concurrency,
                max_connections=max_connections,
                messages=messages,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="per channel and level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 50])
    parser.add_argument(
        "--max-connections", type=int, default=20, help="webhook pool size (capped by concurrency)"
    )
    arguments = parser.parse_args()
    asyncio.run(
        main(
            messages=arguments.messages,
            levels=arguments.concurrency,
            max_connections=arguments.max_connections,
        )
    )
