"""Notifier benchmark (not a test): one notice to 10,000 recipients.

Measures, in one run against the local RabbitMQ and PostgreSQL:
- baseline: the raw FastStream consumer (bench/baselines.py, FASTSTREAM_MEASURES);
- ledger: time to create the ledger rows of a 10,000-recipient notice
  (the handler's transaction alone, and publish -> committed through the broker);
- email: deliveries/s to an SMTP sink (aiosmtpd, its own process), beside a raw
  aiosmtplib send loop with the same concurrency to the same sink process;
- webhooks: deliveries/s to a webhook receiver that verifies every signature
  (its own process), 10,000 endpoints subscribed to one notice, beside a raw httpx
  loop of signed POSTs with the same concurrency to the same receiver process.

The notifier side runs in this process, so the figures are per notifier process;
each raw baseline runs in a fresh process of its own, just before the figure it is
the ceiling of. Everything runs in its own vhost and database, dropped at the end.
Usage: make bench-notifier   (env: BENCH_RECIPIENTS, NOTIFIER_EMAIL_CONCURRENCY, ...)
"""

import asyncio
import email.message
import email.policy
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
from sqlalchemy import func, insert, select

from bench import baselines
from bench.events import benchmark_notice
from notices_contracts import amqp_properties, build_event
from notices_contracts.heap import freeze_startup_heap
from notifier.app import Notifier, build_notifier, dispatch_policy, shutdown, start_consuming
from notifier.channels.webhook import new_webhook_secret
from notifier.dispatcher import Dispatcher
from notifier.handlers.context import EventContext, Received
from notifier.handlers.notices import handle_notice_published
from notifier.logging import configure_logging
from notifier.settings import Settings
from notifier.store.db import migrate
from notifier.store.models import Attempt, Delivery, InboxEvent, Recipient, WebhookEndpoint
from notifier_devtools.fakes import FakeEmailChannel, FakeWebhookChannel

RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "10000"))
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REPORT_DIR = Path(__file__).resolve().parent / "results"
GOALS = {
    "ledger_seconds": 1.0,
    "emails_per_second": 500.0,
    "webhooks_per_second": 1000.0,
    "emails_vs_aiosmtplib": 0.7,
    "webhooks_vs_httpx": 0.7,
}


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def isolated(run_id: str) -> Iterator[tuple[str, str]]:
    vhost, database = f"notices-bench-{run_id}", f"notifier_bench_{run_id}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True
    )
    subprocess.run(["psql", POSTGRES_URL, "-qc", f'CREATE DATABASE "{database}"'], check=True)
    try:
        yield (
            _with_path(AMQP_URL, "/" + quote(vhost, safe="")),
            _with_path(POSTGRES_URL, "/" + database),
        )
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)
        subprocess.run(
            ["psql", POSTGRES_URL, "-qc", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'],
            check=False,
        )


@contextmanager
def server_process(module: str, *args: str) -> Iterator[None]:
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _wait_for_port(port: int) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.2)


async def _until(check: Callable[[], Any], *, every: float = 0.05) -> None:
    while not await check():  # noqa: ASYNC110 - polls the database, no event to await
        await asyncio.sleep(every)


def _notice(recipient_ids: list[uuid.UUID]) -> Any:
    data = benchmark_notice(recipient_ids=recipient_ids, category="bench")
    return build_event(
        event_id=uuid.uuid4(), subject=str(data.notice_id), time=data.published_at, data=data
    )


async def _seed_recipients(notifier: Notifier) -> list[uuid.UUID]:
    users = [uuid.uuid4() for _ in range(RECIPIENTS)]
    now = datetime.now(UTC)
    async with notifier.session_factory.begin() as session:
        await session.execute(
            insert(Recipient),
            [
                {
                    "user_id": user,
                    "email": f"{user.hex[:12]}@bench.example",
                    "display_name": "Bench",
                    "timezone": "UTC",
                    "locale": "en",
                    "is_active": True,
                    "source_time": now,
                }
                for user in users
            ],
        )
    return users


async def _delivered(notifier: Notifier, channel: str) -> int:
    async with notifier.session_factory() as session:
        count = await session.scalar(
            select(func.count()).where(Delivery.channel == channel, Delivery.status == "delivered")
        )
    return int(count or 0)


async def _dispatch_rate(
    dispatcher: Dispatcher, notifier: Notifier, channel: str, results: dict[str, Any], name: str
) -> None:
    """Sets ``results[name]`` to deliveries/s and ``results[name + "_cpu_ms"]`` to this
    process's CPU per delivery: the second holds steady when other work loads the machine."""
    started, cpu_started = time.perf_counter(), time.process_time()
    task = asyncio.create_task(dispatcher.run())
    try:
        await _until(lambda: _count_is(notifier, channel, RECIPIENTS), every=0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    results[name] = RECIPIENTS / (time.perf_counter() - started)
    results[f"{name}_cpu_ms"] = 1000 * (time.process_time() - cpu_started) / RECIPIENTS


async def _count_is(notifier: Notifier, channel: str, expected: int) -> bool:
    return await _delivered(notifier, channel) >= expected


@asynccontextmanager
async def notifier_in_process(env: dict[str, str]) -> AsyncIterator[Notifier]:
    os.environ.update(env)
    notifier = build_notifier(Settings())
    freeze_startup_heap()  # as ``notifier run`` does; the raw baselines run after it too
    await migrate(notifier.engine)
    await start_consuming(notifier)
    try:
        yield notifier
    finally:
        await shutdown(notifier)


async def _publish(amqp_url: str, exchange_name: str, event: Any) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(exchange_name, "topic", durable=True)
        props = amqp_properties(event)
        await exchange.publish(
            baselines.persistent_message(
                event.model_dump_json().encode(), props, user_id=baselines.broker_user(amqp_url)
            ),
            routing_key=props.routing_key,
        )


async def run() -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    smtp_port, hook_port = _free_port(), _free_port()
    secret = new_webhook_secret()
    with (
        isolated(run_id) as (amqp_url, database_url),
        server_process("notifier_devtools.smtp_sink", "--port", str(smtp_port)),
        server_process(
            "notifier_devtools.webhook_receiver", "--port", str(hook_port), "--secret", secret
        ),
    ):
        await _wait_for_port(smtp_port)
        await _wait_for_port(hook_port)
        env = {
            "AMQP_URL": amqp_url,
            "NOTIFIER_DATABASE_URL": database_url,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "NOTIFIER_ALLOW_PRIVATE_WEBHOOKS": "true",
            "NOTIFIER_API_TOKEN": secrets.token_urlsafe(32),  # the API role refuses a weak one
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        }
        results: dict[str, Any] = {"recipients": RECIPIENTS}
        async with notifier_in_process(env) as notifier:
            settings = notifier.settings
            results["settings"] = {
                "prefetch": settings.prefetch,
                "email_concurrency": settings.email_concurrency,
                "webhook_concurrency": settings.webhook_concurrency,
                "database": "postgresql",
            }
            results["baseline_consume_ack_per_second"] = await asyncio.to_thread(
                baselines.faststream_consume_and_ack,
                amqp_url,
                queue_name="bench.baseline",
                count=RECIPIENTS,
            )
            results["baseline_consume_ack_measures"] = baselines.FASTSTREAM_MEASURES.format(
                prefetch=baselines.FASTSTREAM_PREFETCH, count=RECIPIENTS
            )

            users = await _seed_recipients(notifier)
            direct = _notice(users)
            started = time.perf_counter()
            async with notifier.session_factory.begin() as session:
                context = EventContext.of(direct, direct.model_dump_json().encode())
                await handle_notice_published(
                    session, events=[Received(direct.data, context)], now=datetime.now(UTC)
                )
            results["ledger_seconds_handler"] = time.perf_counter() - started
            # The same rows through a dispatcher whose channels answer at once: the
            # notifier's own cost per delivery (claim, render, record), without SMTP.
            fake_dispatcher = Dispatcher(
                session_factory=notifier.session_factory,
                email=FakeEmailChannel(),
                webhooks=FakeWebhookChannel(),
                policy=dispatch_policy(settings),
            )
            await _dispatch_rate(
                fake_dispatcher, notifier, "email", results, "emails_per_second_fake_channel"
            )
            async with notifier.session_factory.begin() as session:  # measure again via the bus
                await session.execute(Attempt.__table__.delete())
                await session.execute(Delivery.__table__.delete())

            event = _notice(users)
            started = time.perf_counter()
            await _publish(amqp_url, settings.exchange, event)
            await _until(lambda: _inbox_has(notifier, event.id))
            results["ledger_seconds_via_broker"] = time.perf_counter() - started

            mail = _baseline_mail()
            results["baseline_aiosmtplib_per_second"] = await asyncio.to_thread(
                baselines.aiosmtplib_sends,
                port=smtp_port,
                message=mail,
                recipients=[f"{user.hex[:12]}@bench.example" for user in users],
                concurrency=settings.email_concurrency,
            )
            results["baseline_aiosmtplib_mail_bytes"] = len(mail)
            await _dispatch_rate(
                notifier.dispatcher, notifier, "email", results, "emails_per_second"
            )

            now = datetime.now(UTC)
            async with notifier.session_factory.begin() as session:
                await session.execute(
                    insert(WebhookEndpoint),
                    [
                        {
                            "id": uuid.uuid4(),
                            "url": f"http://127.0.0.1:{hook_port}/hook/{number}",
                            "description": "",
                            "secrets": [secret],
                            "event_types": ["notices.notice.published.v1"],
                            "enabled": True,
                            "disabled_reason": None,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for number in range(RECIPIENTS)
                    ],
                )
            hooks = _notice([])
            results["baseline_httpx_per_second"] = await asyncio.to_thread(
                baselines.httpx_signed_posts,
                urls=[f"http://127.0.0.1:{hook_port}/baseline/{n}" for n in range(RECIPIENTS)],
                secret=secret,
                body=hooks.model_dump_json().encode(),
                concurrency=settings.webhook_concurrency,
            )
            await _publish(amqp_url, settings.exchange, hooks)
            await _until(lambda: _inbox_has(notifier, hooks.id))
            await _dispatch_rate(
                notifier.dispatcher, notifier, "webhook", results, "webhooks_per_second"
            )
    results["ratios"] = ratios(results)
    return results


def ratios(results: dict[str, Any]) -> dict[str, float]:
    """Each channel's rate as a fraction of its raw client's, measured in the same run."""
    return {
        "emails_vs_aiosmtplib": results["emails_per_second"]
        / results["baseline_aiosmtplib_per_second"],
        "webhooks_vs_httpx": results["webhooks_per_second"] / results["baseline_httpx_per_second"],
    }


def _baseline_mail() -> bytes:
    """A mail the size of the notifier's notice email (text and HTML), composed once."""
    mail = email.message.EmailMessage(policy=email.policy.SMTP)
    mail["From"] = "Notices <notices@bench.example>"
    mail["To"] = "someone@bench.example"
    mail["Subject"] = "Benchmark notice"
    mail["List-Unsubscribe"] = "<https://notices.example/unsubscribe/0123456789abcdef>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text = "Benchmark notice\n\nSent by a benchmark.\n\nhttps://notices.example/notice\n"
    mail.set_content(text * 4)
    mail.add_alternative(f"<html><body><pre>{text * 6}</pre></body></html>", subtype="html")
    return mail.as_bytes()


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal with its measured figure and whether it was met."""
    ratios = results["ratios"]
    return [
        {
            "goal": f"ledger rows of {results['recipients']:,} recipients"
            f" < {GOALS['ledger_seconds']:g} s (handler transaction)",
            "measured": f"{results['ledger_seconds_handler']:.2f} s",
            "met": results["ledger_seconds_handler"] < GOALS["ledger_seconds"],
        },
        {
            "goal": f">= {GOALS['emails_per_second']:,.0f} emails/s per process",
            "measured": f"{results['emails_per_second']:.0f} /s",
            "met": results["emails_per_second"] >= GOALS["emails_per_second"],
        },
        {
            "goal": f"email >= {GOALS['emails_vs_aiosmtplib']:g}x raw aiosmtplib",
            "measured": f"{ratios['emails_vs_aiosmtplib']:.2f}x",
            "met": ratios["emails_vs_aiosmtplib"] >= GOALS["emails_vs_aiosmtplib"],
        },
        {
            "goal": f">= {GOALS['webhooks_per_second']:,.0f} webhooks/s per process",
            "measured": f"{results['webhooks_per_second']:.0f} /s",
            "met": results["webhooks_per_second"] >= GOALS["webhooks_per_second"],
        },
        {
            "goal": f"webhooks >= {GOALS['webhooks_vs_httpx']:g}x raw httpx",
            "measured": f"{ratios['webhooks_vs_httpx']:.2f}x",
            "met": ratios["webhooks_vs_httpx"] >= GOALS["webhooks_vs_httpx"],
        },
    ]


async def _inbox_has(notifier: Notifier, event_id: uuid.UUID) -> bool:
    async with notifier.session_factory() as session:
        return await session.get(InboxEvent, event_id) is not None


def report(results: dict[str, Any]) -> str:
    ratios = results["ratios"]
    settings = results["settings"]

    def cpu(name: str) -> str:
        return f"{results[name + '_cpu_ms']:.2f} ms"

    rows = [
        (
            "raw FastStream consume + parse + ack (baseline)",
            f"{results['baseline_consume_ack_per_second']:.0f} msg/s",
            "-",
            "-",
        ),
        (
            "ledger rows, handler transaction",
            f"{results['ledger_seconds_handler']:.2f} s",
            "-",
            "-",
        ),
        (
            "ledger rows, publish -> committed",
            f"{results['ledger_seconds_via_broker']:.2f} s",
            "-",
            "-",
        ),
        (
            "email, dispatcher with a channel that answers at once",
            f"{results['emails_per_second_fake_channel']:.0f} /s",
            "-",
            cpu("emails_per_second_fake_channel"),
        ),
        (
            f"raw aiosmtplib send loop, {settings['email_concurrency']} connections (baseline)",
            f"{results['baseline_aiosmtplib_per_second']:.0f} /s",
            "-",
            "-",
        ),
        (
            "email to SMTP sink",
            f"{results['emails_per_second']:.0f} /s",
            f"{ratios['emails_vs_aiosmtplib']:.2f}x",
            cpu("emails_per_second"),
        ),
        (
            f"raw httpx signed POST loop, {settings['webhook_concurrency']} senders (baseline)",
            f"{results['baseline_httpx_per_second']:.0f} /s",
            "-",
            "-",
        ),
        (
            "webhooks to receiver",
            f"{results['webhooks_per_second']:.0f} /s",
            f"{ratios['webhooks_vs_httpx']:.2f}x",
            cpu("webhooks_per_second"),
        ),
    ]
    lines = [
        f"# Notifier benchmark ({results['recipients']} recipients, one notifier process)",
        "",
        "| measure | result | ratio to its baseline | notifier CPU per delivery |",
        "|---|---|---|---|",
        *(f"| {name} | {value} | {ratio} | {cpu} |" for name, value, ratio, cpu in rows),
        "",
        "## Goals",
        "",
        "| goal | measured | met |",
        "|---|---|---|",
        *(
            f"| {row['goal']} | {row['measured']} | {'yes' if row['met'] else 'no'} |"
            for row in results["goals"]
        ),
        "",
        "## What the baselines measure",
        "",
        f"- FastStream: {results['baseline_consume_ack_measures']}.",
        f"- aiosmtplib: {settings['email_concurrency']} connections to the same SMTP sink"
        f" process, each sending one {results['baseline_aiosmtplib_mail_bytes']:,}-byte mail"
        " composed once to the next recipient until all have one; timed once every"
        " connection is open. In a fresh process of its own.",
        f"- httpx: {settings['webhook_concurrency']} senders over httpx clients of"
        f" {baselines.CONNECTIONS_PER_HTTPX_CLIENT} connections, each POSTing the notice's"
        " CloudEvent, Standard Webhooks-signed (the receiver verifies every signature), to"
        " the next of as many URLs as recipients on the same receiver process; every"
        " answer 2xx. In a fresh process of its own.",
        "",
        f"settings: {json.dumps(settings)}",
        f"machine load average at the end (1, 5, 15 min): {results['load_average']}",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    # SIGTERM unwinds like an exception, so the vhost and the database are dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    configure_logging(log_format="json", level=os.environ.get("LOG_LEVEL", "WARNING"))
    results = asyncio.run(run())
    results["measured_at"] = datetime.now(UTC).isoformat()
    results["load_average"] = " ".join(f"{load:.1f}" for load in os.getloadavg())
    results["goals"] = goals(results)
    REPORT_DIR.mkdir(exist_ok=True)
    (REPORT_DIR / "notifier.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = report(results)
    (REPORT_DIR / "notifier.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
