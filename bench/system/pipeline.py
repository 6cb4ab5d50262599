"""Commit -> broker -> delivered, measured on the running stack.

- ``Tap``: a queue of the benchmark's own, bound to the platform's exchange, that
  stamps the moment each event reached the broker (commit-to-broker).
- ``Sampler``: the backlog over time, read from both stores: outbox rows still
  pending, events at the broker, ledger rows still pending, deliveries done.
- ``pipeline_step``: events offered at a rate for a while, then drained; the
  latencies of every event from its commit to the broker and to the webhook
  receiver's 2xx (the ledger's ``delivered_at``).
- ``recovery``: a backlog built while the relay is stopped, then drained.
"""

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.pool import Pool
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

import amqp
import psycopg

from bench import baselines
from bench.system import cpu, writers
from tests.support.stack import ManagedProcess, Stack

PUBLISHED_TYPE = "notices.notice.published.v1"
READ_TYPE = "notices.notice.read.v1"
OUTBOX_TABLE = "outbox_outboxevent"


def amqp_connection(amqp_url: str) -> amqp.Connection:
    parts = urlsplit(amqp_url)
    connection = amqp.Connection(
        host=f"{parts.hostname}:{parts.port or 5672}",
        userid=parts.username or "guest",
        password=parts.password or "guest",
        virtual_host=unquote(parts.path[1:]) or "/",
    )
    connection.connect()
    return connection


class Tap:
    """When each event reached the broker, from a queue bound to every routing key."""

    def __init__(self, amqp_url: str, exchange: str, queue: str = "bench.tap") -> None:
        self._amqp_url, self._exchange, self._queue = amqp_url, exchange, queue
        self.arrived: dict[str, float] = {}  # event id -> time, notice.published only
        self.counts: Counter[str] = Counter()  # event type -> messages seen
        self.first_at: dict[str, float] = {}  # event type -> when the first one arrived
        self.last_at: dict[str, float] = {}  # event type -> when the latest one arrived
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._consume, name="tap", daemon=True)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __enter__(self) -> "Tap":
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the tap queue could not be declared")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _consume(self) -> None:
        connection = amqp_connection(self._amqp_url)
        channel = connection.channel()
        channel.queue_declare(self._queue, exclusive=True, auto_delete=True)
        channel.queue_bind(self._queue, self._exchange, "#")
        channel.basic_qos(0, 2000, False)
        channel.basic_consume(self._queue, no_ack=True, callback=self._arrived)
        self._ready.set()
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                connection.drain_events(timeout=0.2)
        connection.collect()

    def _arrived(self, message: amqp.Message) -> None:
        now = time.time()
        event_type = message.properties.get("type", "")
        self.counts[event_type] += 1
        self.first_at.setdefault(event_type, now)
        self.last_at[event_type] = now
        if event_type == PUBLISHED_TYPE:
            self.arrived[message.properties["message_id"]] = now


@dataclass
class Sampler:
    """The backlog at each moment, every ``every`` seconds, in a thread of its own."""

    stack: Stack
    tap: Tap
    every: float = 0.5
    samples: list[dict[str, float]] = field(default_factory=list)
    phase: str = ""

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def latest(self) -> dict[str, float]:
        return self.samples[-1] if self.samples else {}

    def _run(self) -> None:
        with (
            psycopg.connect(self.stack.api_database_url, autocommit=True) as api,
            psycopg.connect(self.stack.notifier_database_url, autocommit=True) as notifier,
        ):
            while not self._stop.wait(self.every):
                self.samples.append(self._sample(api, notifier))

    def _sample(self, api: psycopg.Connection, notifier: psycopg.Connection) -> dict[str, Any]:
        (pending,) = api.execute(
            "SELECT count(*) FROM outbox_outboxevent WHERE status = 'pending'"
        ).fetchone() or (0,)
        ledger_pending, delivered = notifier.execute(
            "SELECT count(*) FILTER (WHERE status = 'pending'),"
            " count(*) FILTER (WHERE status = 'delivered' AND channel = 'webhook')"
            " FROM deliveries"
        ).fetchone() or (0, 0)
        (handled,) = notifier.execute("SELECT count(*) FROM inbox").fetchone() or (0,)
        return {
            "t": time.time(),
            "phase": self.phase,
            "outbox_pending": pending,
            "at_broker": self.tap.total,
            "ledger_pending": ledger_pending,
            "webhooks_delivered": delivered,
            "events_handled": handled,
        }


def notifier_processes(stack: Stack) -> list[ManagedProcess]:
    """The notifier's processes: one ``notifier``, or ``notifier-<roles>`` when split."""
    return [
        process
        for name, process in stack.processes.items()
        if name == "notifier" or name.startswith("notifier-")
    ]


def process_roots(stack: Stack) -> dict[str, int]:
    """The stack's running processes by name (a process tree each), for ``cpu``."""
    return {
        name: process.popen.pid
        for name, process in stack.processes.items()
        if process.popen is not None and process.running
    }


def stop_notifier(stack: Stack) -> None:
    for process in notifier_processes(stack):
        process.stop()


def start_notifier(stack: Stack) -> None:
    processes = notifier_processes(stack)
    for process in processes:
        process.start(wait=False)
    for process in processes:
        process.wait_ready()


def raw_faststream_rate(stack: Stack, messages: int) -> float:
    """The raw FastStream consumer's msg/s now, on the stack's broker (stop the notifier first)."""
    return baselines.faststream_consume_and_ack(
        stack.amqp_url, queue_name="bench.faststream", count=messages
    )


def purge_notifier_queue(stack: Stack) -> int:
    """Drop what the notifier has not consumed yet, so the next phase starts from empty."""
    connection = amqp_connection(stack.amqp_url)
    try:
        env = notifier_processes(stack)[0].env
        queue = env.get("NOTIFIER_QUEUE", "notifier.events")
        purged: int = connection.channel().queue_purge(queue)
        return purged
    finally:
        connection.collect()


def vacuum_analyze(database_url: str, *tables: str) -> None:
    """What autovacuum would have done by now: statistics and the visibility map current.

    The benchmark fills tables faster than autovacuum's first look (and some servers
    run with it off), and the planner picks its plans from the statistics: a claim
    planned for the nine rows an empty table's statistics promise, over a backlog of
    100,000, sorts the whole backlog for each batch. The checkpoint then writes back what
    the filling dirtied, which the server would otherwise do during the next measurement.
    """
    with psycopg.connect(database_url, autocommit=True) as database:
        database.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
        database.execute("CHECKPOINT")


def wait_until(condition: Callable[[], bool], *, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p95, p99 and max in milliseconds (None for an empty list)."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000, 1)

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1] * 1000, 1)}


def _commits(pool: Pool, shares: int, **kwargs: Any) -> dict[str, float]:
    jobs = [
        pool.apply_async(
            writers.published_on_schedule, kwds={**kwargs, "share": n, "shares": shares}
        )
        for n in range(shares)
    ]
    committed: dict[str, float] = {}
    for job in jobs:
        committed.update(job.get())
    return committed


class Delivered(NamedTuple):
    """When the notifier took an event in, began its webhook's send, and had it answered."""

    handled: float
    send_started: float
    delivered: float


def _delivered_at(stack: Stack, event_ids: list[str]) -> dict[str, Delivered]:
    with psycopg.connect(stack.notifier_database_url) as notifier:
        rows = notifier.execute(
            "SELECT d.event_id::text, i.received_at, a.started_at, d.delivered_at"
            " FROM deliveries d JOIN inbox i ON i.event_id = d.event_id"
            " JOIN attempts a ON a.delivery_id = d.id AND a.number = d.attempt_count"
            " WHERE d.channel = 'webhook' AND d.status = 'delivered'"
            " AND d.event_id = ANY(%s::uuid[])",
            (event_ids,),
        ).fetchall()
    return {
        event_id: Delivered(*(moment.timestamp() for moment in moments))
        for event_id, *moments in rows
    }


def pipeline_step(
    *,
    stack: Stack,
    pool: Pool,
    shares: int,
    tap: Tap,
    sampler: Sampler,
    rate: float | None,
    seconds: float,
    recipient_ids: list[str],
    category: str,
    drain_timeout: float,
) -> dict[str, Any]:
    """Offer ``rate`` events/s (None: as fast as the writers commit) for ``seconds``."""
    label = f"{rate:g}/s" if rate else "unthrottled"
    sampler.phase = f"pipeline {label}"
    cpu_before, cpu_from = cpu.cpu_seconds(process_roots(stack)), time.time()
    start_at = time.time() + 0.5
    committed = _commits(
        pool,
        shares,
        rate=rate,
        start_at=start_at,
        seconds=seconds,
        recipient_ids=recipient_ids,
        category=category,
    )
    written_at = time.time()
    event_ids = list(committed)
    # Counted by this step's own event ids: a previous step's late deliveries don't count.
    drained = wait_until(
        lambda: len(_delivered_at(stack, event_ids)) >= len(event_ids),
        timeout=drain_timeout,
        every=1.0,
    )
    delivered = _delivered_at(stack, event_ids)
    cpu_spent = cpu.spent(cpu_before, cpu.cpu_seconds(process_roots(stack)))
    cpu_window = time.time() - cpu_from
    # A step the pipeline could not keep up with would leave its backlog to the next.
    purged = 0 if drained else purge_notifier_queue(stack)
    to_broker = [tap.arrived[e] - t for e, t in committed.items() if e in tap.arrived]
    to_delivered = [delivered[e].delivered - t for e, t in committed.items() if e in delivered]
    seen = [(tap.arrived[e], d) for e, d in delivered.items() if e in tap.arrived]
    last_delivery = max((d.delivered for d in delivered.values()), default=start_at)
    return {
        "step": label,
        "offered_per_second": rate,
        "seconds": seconds,
        "committed": len(committed),
        "committed_per_second": round(len(committed) / (written_at - start_at), 1),
        "at_broker": len(to_broker),
        "delivered": len(delivered),
        "delivered_per_second": round(len(delivered) / max(last_delivery - start_at, 1e-9), 1),
        "drained": drained,
        "purged_after_timeout": purged,
        "commit_to_broker_ms": percentiles(to_broker),
        "commit_to_delivered_ms": percentiles(to_delivered),
        # Where the notifier's share of that goes, stage by stage.
        "broker_to_handled_ms": percentiles([d.handled - at for at, d in seen]),
        "handled_to_send_ms": percentiles([d.send_started - d.handled for _, d in seen]),
        "send_ms": percentiles([d.delivered - d.send_started for _, d in seen]),
        # Where the machine's CPU went, from the first commit until every event was
        # delivered (or the drain gave up): per committed event, and in cores busy.
        "cpu_ms_per_event": {
            name: round(1000 * seconds / max(len(committed), 1), 2)
            for name, seconds in cpu_spent.items()
        },
        "cpu_cores_busy": round(sum(cpu_spent.values()) / cpu_window, 2),
        "window": [start_at, max(last_delivery, written_at)],
    }


def recovery(
    *,
    stack: Stack,
    pool: Pool,
    shares: int,
    tap: Tap,
    sampler: Sampler,
    events: int,
    timeout: float,
    notifier_window: float,
    faststream_messages: int,
) -> dict[str, Any]:
    """Stop the relay, commit ``events`` ``notice.read`` events, start it, time the drain.

    The notifier is stopped meanwhile, so that the relay runs on the machine the
    publisher baselines had. Then the notifier alone works through the backlog for
    ``notifier_window`` seconds; what it has not consumed by then is purged. The raw
    FastStream consumer runs right before and right after that window, so that the
    notifier's pace is compared with the ceiling measured beside it, not minutes away.
    """
    sampler.phase = "recovery: relay stopped"
    stack.processes["relay"].stop()
    stop_notifier(stack)
    started = time.perf_counter()
    jobs = [
        pool.apply_async(
            writers.read_backlog,
            kwds={"share": n, "shares": shares, "events": events, "notices": events // 20},
        )
        for n in range(shares)
    ]
    written = sum(job.get() for job in jobs)
    build_seconds = time.perf_counter() - started
    vacuum_analyze(stack.api_database_url, OUTBOX_TABLE)
    at_broker_before = tap.counts[READ_TYPE]
    handled_before = sampler.latest().get("events_handled", 0)

    sampler.phase = "recovery: relay draining"
    relay_started = time.time()
    stack.start("relay")
    relay_drained = wait_until(
        lambda: tap.counts[READ_TYPE] - at_broker_before >= written, timeout=timeout, every=0.05
    )
    relay_seconds = tap.last_at.get(READ_TYPE, time.time()) - relay_started
    # Only the recovery sends notice.read, so the first of them is the relay's first publish.
    first_arrival = tap.first_at.get(READ_TYPE, relay_started)
    # The notifier's pace over a bounded window, not the whole catch-up: at its rate a
    # large backlog would take longer than the rest of the run.
    sampler.phase = "recovery: raw FastStream consumer"
    faststream_before = raw_faststream_rate(stack, faststream_messages)
    sampler.phase = "recovery: notifier catching up"
    start_notifier(stack)
    handled_at_drain = sampler.latest().get("events_handled", 0)
    window_started = time.time()
    notifier_caught_up = wait_until(
        lambda: sampler.latest().get("events_handled", 0) - handled_before >= written,
        timeout=notifier_window,
    )
    handled = sampler.latest().get("events_handled", 0)
    notifier_rate = (handled - handled_at_drain) / max(time.time() - window_started, 1e-9)
    left = written - (handled - handled_before)
    purged = 0 if notifier_caught_up else purge_notifier_queue(stack)
    stop_notifier(stack)
    sampler.phase = "recovery: raw FastStream consumer"
    faststream_after = raw_faststream_rate(stack, faststream_messages)
    start_notifier(stack)
    sampler.phase = "idle"
    return {
        "events": written,
        "backlog_written_per_second": round(written / build_seconds, 1),
        "relay_drained": relay_drained,
        "relay_drain_seconds": round(relay_seconds, 2),
        # The relay's pace once it publishes: its boot is in relay_drain_seconds only.
        "relay_events_per_second": round(
            written / max(tap.last_at.get(READ_TYPE, 0) - first_arrival, 1e-9), 1
        ),
        "notifier_caught_up": notifier_caught_up,
        "notifier_events_per_second": round(notifier_rate, 1),
        "notifier_left_when_purged": left if purged else 0,
        "faststream_consume_ack_per_second_beside": [
            round(faststream_before, 1),
            round(faststream_after, 1),
        ],
        "window": [relay_started, time.time()],
    }
