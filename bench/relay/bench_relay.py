"""``make bench-relay``: the outbox relay beside two baselines, same broker, same run.

1. Throughput: a backlog of N outbox events (default 50,000, interleaved over 5,000
   notices) drained by our relay (PostgreSQL, in this process), then the same
   messages published by
   - kombu with ``confirm_publish``: one blocking confirm round trip per message;
   - raw aio-pika with publisher confirms and a window of outstanding publishes.
2. Latency: a relay process (``manage.py outbox_relay``, woken by NOTIFY) while
   this process commits one event per transaction at a steady rate (default
   500/s); a consumer timestamps each delivery. Commit-to-delivery bounds
   commit-to-confirm from above (the quorum queue delivers once it has confirmed).

Everything happens in a database and a vhost of this run, dropped at the end.
Not a test: it prints figures and the goals, and exits 0 either way.
"""

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from bench.baselines import aio_pika_windowed, kombu_one_confirm_per_message
from bench.system.pipeline import vacuum_analyze

ROOT = Path(__file__).resolve().parents[2]
API_DIR = ROOT / "services" / "notices-api"
sys.path.insert(0, str(API_DIR))

RUN_ID = uuid.uuid4().hex[:8]
DATABASE = f"bench_relay_{RUN_ID}"
VHOST = f"notices-bench-{RUN_ID}"
QUEUE = "bench.all"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
AMQP_BASE_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
DATABASE_URL = urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{DATABASE}"))
AMQP_URL = urlunsplit(urlsplit(AMQP_BASE_URL)._replace(path="/" + quote(VHOST, safe="")))

os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings.base",
    DATABASE_URL=DATABASE_URL,
    AMQP_URL=AMQP_URL,
    LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
    OUTBOX_RELAY_METRICS_PORT="0",
)


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


def admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(
        POSTGRES_URL.replace("postgres://", "postgresql://"), autocommit=True
    ) as c:
        c.execute(statement)  # type: ignore[arg-type]


def amqp_connection() -> Any:
    import amqp

    parts = urlsplit(AMQP_BASE_URL)
    connection = amqp.Connection(
        host=f"{parts.hostname}:{parts.port or 5672}",
        userid=parts.username or "guest",
        password=parts.password or "guest",
        virtual_host=VHOST,
    )
    connection.connect()
    return connection


def declare_topology(exchange: str) -> None:
    connection = amqp_connection()
    channel = connection.channel()
    channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
    channel.queue_declare(
        QUEUE, durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"}
    )
    channel.queue_bind(QUEUE, exchange, "#")
    connection.collect()


def queue_depth_then_purge() -> int:
    connection = amqp_connection()
    channel = connection.channel()
    _, depth, _ = channel.queue_declare(QUEUE, passive=True)
    channel.queue_purge(QUEUE)
    connection.collect()
    return int(depth)


def build_backlog(events: int, notices: int) -> float:
    from django.db import transaction

    from notices_api.outbox.services import outbox_event_record
    from notices_contracts import NoticeReadV1

    notice_ids = [uuid.uuid4() for _ in range(notices)]
    started = time.perf_counter()
    for start in range(0, events, 500):
        with transaction.atomic():
            for n in range(start, min(events, start + 500)):
                notice_id = notice_ids[n % notices]
                outbox_event_record(
                    data=NoticeReadV1(
                        notice_id=notice_id, user_id=uuid.uuid4(), read_at=datetime.now(UTC)
                    ),
                    aggregate_id=notice_id,
                )
    return time.perf_counter() - started


def messages_of_the_backlog(limit: int) -> list[Any]:
    from notices_api.outbox.models import OutboxEvent
    from notices_contracts import CloudEvent, amqp_properties

    return [
        (event.envelope_json(), amqp_properties(CloudEvent[Any].model_validate(event.envelope)))
        for event in OutboxEvent.objects.order_by("position")[:limit]
    ]


def drain_with_relay() -> float:
    from notices_api.outbox.relay import relay_from_settings

    relay = relay_from_settings()
    started = time.perf_counter()
    relay.run(once=True)
    return time.perf_counter() - started


WRITERS = 4


def set_up_writer(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()


def writer_ready() -> bool:
    return True


def write_on_schedule(
    first: int, step: int, total: int, rate: float, start_at: float
) -> dict[str, float]:
    """In a process of its own: event n commits at ``start_at + n / rate``, one per transaction.

    Returns event id -> wall-clock time right after its commit.
    """
    from django.db import transaction

    from notices_api.outbox.services import outbox_event_record
    from notices_contracts import NoticeReadV1

    notice_ids = [uuid.uuid4() for _ in range(50)]
    committed: dict[str, float] = {}
    for n in range(first, total, step):
        time.sleep(max(0.0, start_at + n / rate - time.time()))
        notice_id = notice_ids[n % len(notice_ids)]
        with transaction.atomic():
            event = outbox_event_record(
                data=NoticeReadV1(
                    notice_id=notice_id, user_id=uuid.uuid4(), read_at=datetime.now(UTC)
                ),
                aggregate_id=notice_id,
            )
        committed[str(event.id)] = time.time()
    return committed


def wait_for_relay_session() -> None:
    """Until the relay process holds its member lock: it owns partitions and LISTENs."""
    from django.db import connection

    from notices_api.outbox.partitions import MEMBER_KEY

    for _ in range(600):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid::bigint = %s"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                [MEMBER_KEY],
            )
            row = cursor.fetchone()
        if row and row[0]:
            time.sleep(1)  # its first rebalance and LISTEN follow right after
            return
        time.sleep(0.1)
    raise RuntimeError("the relay process did not start")


def steady_rate_latency(rate: float, seconds: float) -> list[float]:
    """Commit one event per transaction at ``rate``/s; return commit-to-delivery seconds."""
    delivered: dict[str, float] = {}
    stop_consuming = threading.Event()
    ready = threading.Event()

    def consume() -> None:
        connection = amqp_connection()
        channel = connection.channel()
        channel.basic_qos(0, 1000, False)
        channel.basic_consume(
            QUEUE,
            no_ack=True,
            callback=lambda m: delivered.setdefault(m.properties["message_id"], time.time()),
        )
        ready.set()
        while not stop_consuming.is_set():
            with contextlib.suppress(TimeoutError):
                connection.drain_events(timeout=0.2)
        connection.collect()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    ready.wait(30)
    metrics_port = free_port()
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "outbox_relay", "--metrics-port", str(metrics_port)],
        cwd=API_DIR,
        env={**os.environ, "LOG_LEVEL": os.environ.get("RELAY_LOG_LEVEL", "WARNING")},
    )
    committed: dict[str, float] = {}
    try:
        wait_for_relay_session()
        total = int(rate * seconds)
        # Several writer processes, like several API workers; this process only consumes,
        # so delivery times are not skewed by the writers' work.
        spawn = multiprocessing.get_context("spawn")
        with spawn.Pool(WRITERS, initializer=set_up_writer, initargs=(DATABASE_URL,)) as pool:
            pool.starmap(writer_ready, [()] * WRITERS * 4)
            start_at = time.time() + 1
            shares = pool.starmap(
                write_on_schedule,
                [(n, WRITERS, total, rate, start_at) for n in range(WRITERS)],
            )
        for share in shares:
            committed.update(share)
        offered = total / (max(committed.values()) - start_at)
        deadline = time.monotonic() + 60
        while len(delivered) < total and time.monotonic() < deadline:
            time.sleep(0.1)
        print(
            f"  offered {offered:.0f} events/s for {seconds:g}s, delivered {len(delivered)}/{total}"
        )
        print_relay_histogram(metrics_port)
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(60)
        stop_consuming.set()
        consumer.join(10)
    return sorted(delivered[i] - t for i, t in committed.items() if i in delivered)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def print_relay_histogram(port: int) -> None:
    """The relay's own commit-to-confirm histogram (what it exports to Prometheus)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    buckets = []
    for line in text.splitlines():
        if line.startswith("outbox_commit_to_confirm_seconds_bucket"):
            bound = line.split('le="')[1].split('"')[0]
            buckets.append((float(bound), float(line.rsplit(" ", 1)[1])))
    count = buckets[-1][1] if buckets else 0
    if not count:
        return
    within = {bound: n / count for bound, n in buckets}
    p50 = next(bound for bound, share in within.items() if share >= 0.5)
    p99 = next(bound for bound, share in within.items() if share >= 0.99)
    print(
        f"  relay histogram (outbox_commit_to_confirm_seconds, {count:.0f} events): "
        f"p50 <= {p50 * 1000:g} ms, p99 <= {p99 * 1000:g} ms, "
        f"{within.get(0.05, 0) * 100:.1f}% within 50 ms"
    )


def percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(fraction * len(values)))]


def print_latency(rate: float, seconds: float) -> None:
    print(f"latency at a steady {rate:g} events/s (relay process, NOTIFY wake-ups):")
    latencies = steady_rate_latency(rate, seconds)
    if latencies:
        print(
            f"commit-to-delivery p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
            f"max {latencies[-1] * 1000:.1f} ms (goal p99 < 50 ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--notices", type=int, default=5_000)
    parser.add_argument("--kombu-events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--latency-only", action="store_true")
    args = parser.parse_args()

    admin_sql(f'CREATE DATABASE "{DATABASE}"')
    rabbitmqctl("add_vhost", VHOST)
    try:
        rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        exchange = settings.OUTBOX_EXCHANGE
        declare_topology(exchange)
        window = settings.OUTBOX_RELAY.confirm_window
        print(
            f"bench-relay {RUN_ID}: {args.events} events over {args.notices} notices, "
            f"batch {settings.OUTBOX_RELAY.batch_size}, window {window}, quorum queue, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        )

        if args.latency_only:
            args.events = 0
        seconds = build_backlog(args.events, args.notices) if args.events else 0.0
        # What autovacuum would have done by now (bench.system.pipeline.vacuum_analyze).
        vacuum_analyze(DATABASE_URL, "outbox_outboxevent")
        if args.latency_only:
            print_latency(args.rate, args.seconds)
            return
        print(f"  backlog written in {seconds:.1f}s ({args.events / seconds:.0f} events/s)")
        messages = messages_of_the_backlog(args.events)

        seconds = drain_with_relay()
        relay_rate = args.events / seconds
        depth = queue_depth_then_purge()
        print(
            f"relay (kombu/py-amqp, windowed confirms): {relay_rate:8.0f} events/s "
            f"({args.events} in {seconds:.1f}s, queue got {depth})"
        )

        sample = messages[: args.kombu_events]
        seconds = kombu_one_confirm_per_message(AMQP_URL, exchange, sample)
        kombu_rate = len(sample) / seconds
        queue_depth_then_purge()
        print(
            f"kombu, one confirm per message:          {kombu_rate:8.0f} events/s "
            f"({len(sample)} in {seconds:.1f}s)"
        )

        seconds = asyncio.run(aio_pika_windowed(AMQP_URL, exchange, messages, window))
        aio_rate = len(messages) / seconds
        queue_depth_then_purge()
        print(
            f"aio-pika, window of {window} confirms:       {aio_rate:8.0f} events/s "
            f"({len(messages)} in {seconds:.1f}s)"
        )

        print(f"ratio relay / kombu one-confirm:   {relay_rate / kombu_rate:5.2f}x (goal >= 2.5x)")
        print(f"ratio relay / aio-pika windowed:   {relay_rate / aio_rate:5.2f}x (goal >= 0.8x)")

        print_latency(args.rate, args.seconds)
    finally:
        from django.db import connections

        connections.close_all()
        rabbitmqctl("delete_vhost", VHOST)
        admin_sql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    main()
