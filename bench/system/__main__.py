"""``make bench`` (``--quick``: ``make bench-quick``): the platform end to end, one run.

1. Pipeline: the whole stack as real processes (tests/support/stack.py: gunicorn
   API, outbox relay, notifier, SMTP sink, webhook receiver) on a database pair
   and a vhost of this run. Writer processes commit ``notice.published`` events
   at stepped offered rates; each reaches the webhook receiver (and one in ten an
   SMTP sink too). Per step: throughput, commit-to-broker and commit-to-delivered
   percentiles; the backlog is sampled throughout.
2. Baselines on the same broker, with the notifier stopped once it delivered what
   the pipeline left it: kombu one confirm per message, aio-pika with a window of
   confirms, raw FastStream consume + parse + ack (bench/baselines.py says exactly
   what each does; bench/BASELINES.md how the FastStream one was chosen).
3. Recovery: a backlog committed while the relay is stopped, then drained.
4. HTTP: the API (gunicorn, production settings) over a seeded database, driven by
   a load generator in its own process: every scenario and the baseline (a constant,
   token-authenticated endpoint, ``NOTICES_BENCH_BASELINE_ENDPOINT``) at two table
   sizes, the measured readers' inboxes the same at both; then create + publish
   against the on_commit variant (bench/system/on_commit_wsgi.py), with and without
   confirms.

``--notifier-split`` runs the notifier as one process per role (consumer,
dispatcher, api: ``NOTIFIER_ROLES``) instead of one ``notifier run``.

``--tracing`` adds a phase after the pipeline steps (bench/system/tracing_cost.py): the
unthrottled step in turns with tracing off, on for every trace and on for one trace in
ten, in the same run, so the cost of tracing is a ratio of figures taken side by side.
The rest of the run is untraced, as by default.

Writes bench/results/<timestamp>/ (results.json, report.md, latency.png,
backlog.png); ``--publish`` also refreshes docs/performance.md. Not a test: it
reports the goals, met or not, and exits 0 unless the run itself broke.
"""

import argparse
import asyncio
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from statistics import mean
from typing import Any

import psycopg
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from bench import baselines
from bench.system import http_load, tracing_cost, writers
from bench.system.pipeline import (
    PUBLISHED_TYPE,
    READ_TYPE,
    Sampler,
    Tap,
    amqp_connection,
    pipeline_step,
    raw_faststream_rate,
    recovery,
    stop_notifier,
    vacuum_analyze,
    wait_until,
)
from bench.system.report import write_report
from notices_contracts import EXCHANGE_NAME
from tests.support.otlp import OtlpReceiver, otlp_receiver
from tests.support.stack import (
    API_DIR,
    ROOT,
    ManagedProcess,
    Stack,
    free_port,
    running_stack,
    scratch_database,
)

RESULTS_DIR = ROOT / "bench" / "results"
WRITERS = 2  # one per core: more only queue on the same two
# What the HTTP world fills (accounts, notices and their inbox rows, receipts).
HTTP_TABLES = ("accounts_user", "notices_notice", "notices_noticerecipient", "notices_readreceipt")
BASELINE_EXCHANGE = "bench.baseline"
BASELINE_QUEUE = "bench.baseline"
CATEGORY = "bench"
# --notifier-split: one process per role; the bench needs the API (preferences, endpoints).
SPLIT_NOTIFIER_ROLES = ("consumer", "dispatcher", "api")


@dataclass(frozen=True)
class Profile:
    name: str
    # (offered events/s, seconds); None: as fast as the writers commit. The steps above
    # what the notifier sustains are short, so that their backlog drains in the run.
    steps: tuple[tuple[float | None, float], ...]
    drain_timeout: float
    recovery_events: int
    recovery_timeout: float
    notifier_window: float
    kombu_messages: int
    aio_pika_messages: int
    faststream_messages: int
    http_users: int
    # Notices in the table at the two sizes measured; the measured readers' inboxes
    # (http_readers users, http_inbox notices each) are the same at both.
    http_sizes: tuple[int, int]
    http_readers: int
    http_inbox: int
    http_audience: int
    http_seconds: float
    http_concurrency: int
    # Each unthrottled step of the tracing phase (--tracing).
    tracing_seconds: float


FULL = Profile(
    name="full",
    steps=((100, 10), (300, 10), (500, 10), (1000, 5), (3000, 4), (None, 4)),
    drain_timeout=60,
    recovery_events=100_000,
    recovery_timeout=120,
    notifier_window=15,
    kombu_messages=10_000,
    aio_pika_messages=30_000,
    faststream_messages=20_000,
    http_users=1_000,
    http_sizes=(10_000, 100_000),
    http_readers=50,
    http_inbox=200,
    http_audience=20,
    http_seconds=10,
    http_concurrency=16,
    tracing_seconds=6,
)
QUICK = Profile(
    name="quick",
    steps=((100, 3), (500, 3), (1000, 2), (None, 2)),
    drain_timeout=10,
    recovery_events=5_000,
    recovery_timeout=30,
    notifier_window=3,
    kombu_messages=1_000,
    aio_pika_messages=5_000,
    faststream_messages=3_000,
    http_users=200,
    http_sizes=(1_000, 10_000),
    http_readers=20,
    http_inbox=50,
    http_audience=10,
    http_seconds=2,
    http_concurrency=16,
    tracing_seconds=3,
)


class Phases:
    """One progress bar over the whole run, advanced phase by phase."""

    def __init__(self, progress: Progress, total: int) -> None:
        self._progress = progress
        self._task = progress.add_task("starting", total=total)

    def start(self, description: str) -> None:
        self._progress.update(self._task, description=description)
        self._progress.console.log(description)

    def done(self) -> None:
        self._progress.advance(self._task)


def conditions(
    stack: Stack,
    profile: Profile,
    notifier_roles: tuple[str, ...] | None,
    tracing: OtlpReceiver | None,
) -> dict[str, Any]:
    with psycopg.connect(stack.api_database_url) as db:
        (postgres,) = db.execute("SHOW server_version").fetchone() or ("?",)
        (autovacuum,) = db.execute("SHOW autovacuum").fetchone() or ("?",)
    rabbitmq = subprocess.run(
        ["rabbitmqctl", "-q", "version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    packages = ("django", "djangorestframework", "kombu", "faststream", "aio-pika", "gunicorn")
    return {
        "profile": profile.name,
        "cpus": os.cpu_count(),
        "load average at start (1 min)": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        **{name: metadata.version(name) for name in packages},
        "PostgreSQL": postgres,
        # Off or not, the benchmark analyzes what it fills (pipeline.vacuum_analyze).
        "PostgreSQL autovacuum": autovacuum,
        "RabbitMQ": rabbitmq or "?",
        "notifier queue": "quorum",
        "notifier processes": (
            "one `notifier run` (consumer, dispatcher, api)"
            if notifier_roles is None
            else ", ".join(f"NOTIFIER_ROLES={roles}" for roles in notifier_roles)
        ),
        "API server": "gunicorn, 2 workers x 4 threads, production settings",
        "writer processes": WRITERS,
        "OpenTelemetry tracing": (
            "off"
            if tracing is None
            else "off, but in the tracing phase (OTLP/HTTP to a receiver of the run)"
        ),
    }


def prepare_delivery(stack: Stack, pool: Any, recipients: int) -> list[str]:
    """Recipients (one in ten keeps email) and a webhook endpoint for notice.published."""
    recipient_ids: list[str] = pool.apply(writers.recipients, kwds={"count": recipients})
    with psycopg.connect(stack.notifier_database_url, autocommit=True) as notifier:
        known = wait_until(
            lambda: (
                (notifier.execute("SELECT count(*) FROM recipients").fetchone() or (0,))[0]
                >= recipients
            ),
            timeout=60,
        )
    if not known:
        raise RuntimeError("the notifier did not learn the benchmark's recipients")
    with stack.notifier_client() as notifier_api, stack.receiver_client() as receiver:
        for user_id in recipient_ids[1:]:
            opt_out = {"opt_outs": {"email": [CATEGORY]}, "quiet_hours": None}
            notifier_api.put(f"/v1/recipients/{user_id}/preferences", json=opt_out)
        endpoint = notifier_api.post(
            "/v1/webhook-endpoints",
            json={"url": f"{stack.receiver_url}/hooks/bench", "event_types": [PUBLISHED_TYPE]},
        ).raise_for_status()
        receiver.post("/_secrets", json={"secret": endpoint.json()["secret"]}).raise_for_status()
    return recipient_ids


def baseline_figures(stack: Stack, profile: Profile, window: int) -> dict[str, Any]:
    connection = amqp_connection(stack.amqp_url)
    channel = connection.channel()
    channel.exchange_declare(BASELINE_EXCHANGE, "topic", durable=True, auto_delete=False)
    channel.queue_declare(
        BASELINE_QUEUE, durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"}
    )
    channel.queue_bind(BASELINE_QUEUE, BASELINE_EXCHANGE, "#")
    messages = baselines.read_events(max(profile.kombu_messages, profile.aio_pika_messages))
    kombu = messages[: profile.kombu_messages]
    kombu_seconds = baselines.kombu_one_confirm_per_message(
        stack.amqp_url, BASELINE_EXCHANGE, kombu
    )
    channel.queue_purge(BASELINE_QUEUE)
    windowed = messages[: profile.aio_pika_messages]
    aio_seconds = asyncio.run(
        baselines.aio_pika_windowed(stack.amqp_url, BASELINE_EXCHANGE, windowed, window)
    )
    channel.queue_purge(BASELINE_QUEUE)
    connection.collect()
    faststream = raw_faststream_rate(stack, profile.faststream_messages)
    return {
        "kombu_one_confirm_per_second": round(len(kombu) / kombu_seconds, 1),
        "aio_pika_windowed_per_second": round(len(windowed) / aio_seconds, 1),
        "aio_pika_window": window,
        "faststream_consume_ack_per_second": round(faststream, 1),
        "faststream_measures": baselines.FASTSTREAM_MEASURES.format(
            prefetch=baselines.FASTSTREAM_PREFETCH, count=profile.faststream_messages
        ),
        "messages": {
            "kombu": len(kombu),
            "aio_pika": len(windowed),
            "faststream": profile.faststream_messages,
        },
    }


@contextmanager
def another(
    stack: Stack,
    of: str,
    name: str,
    *,
    env: dict[str, str],
    replace: tuple[str, str] | None = None,
    port: int | None = None,
    ready: Callable[[], bool] = lambda: True,
) -> Iterator[None]:
    """Another process like the stack's ``of``, with ``env`` on top of its own (and, for
    a server, ``replace`` in its command and a port of its own)."""
    base = stack.processes[of]
    command = [part.replace(*replace) if replace else part for part in base.command]
    if port is not None:
        command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    process = ManagedProcess(
        name,
        command,
        cwd=base.cwd,
        env={**base.env, **env},
        log_path=stack.log_dir / f"{name}.log",
        ready=ready,
    )
    process.start()
    try:
        yield
    finally:
        process.stop()


@contextmanager
def api_server(
    stack: Stack, name: str, *, env: dict[str, str], wsgi: str = "config.wsgi:application"
) -> Iterator[str]:
    """Another notices-api server, as the stack serves it but for ``wsgi`` and ``env``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with another(
        stack,
        "api",
        name,
        env=env,
        replace=("config.wsgi:application", wsgi),
        port=port,
        ready=lambda: _http_ready(f"{url}/readyz"),
    ):
        yield url


def on_commit_server(
    stack: Stack, *, confirms: bool, database_url: str
) -> AbstractContextManager[str]:
    """notices-api with on_commit publishing instead of the outbox."""
    return api_server(
        stack,
        f"api-on-commit-{'confirms' if confirms else 'no-confirms'}",
        wsgi="bench.system.on_commit_wsgi:application",
        env={
            "DATABASE_URL": database_url,
            "PYTHONPATH": str(ROOT),
            "BENCH_ON_COMMIT_CONFIRMS": "true" if confirms else "false",
        },
    )


@contextmanager
def larger_world_database(stack: Stack, spawn: Any) -> Iterator[tuple[str, Any]]:
    """A second notices-api database, migrated, and writer processes on it: the larger
    HTTP size lives there, so that both sizes can be measured in turns."""
    name = f"{stack.api_database}_larger"
    with scratch_database(name) as database_url:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=API_DIR,
            env={**stack.processes["api"].env, "DATABASE_URL": database_url},
            check=True,
        )
        with spawn.Pool(WRITERS, initializer=writers.set_up, initargs=(database_url, {})) as pool:
            yield database_url, pool


def _http_ready(url: str) -> bool:
    import httpx

    return httpx.get(url, timeout=2).status_code == 200


def tracing_phase(
    stack: Stack,
    spawn: Any,
    receiver: OtlpReceiver,
    tap: Tap,
    sampler: Sampler,
    profile: Profile,
    recipient_ids: list[str],
    *,
    writers_off: Any,
) -> dict[str, Any]:
    """``tracing_cost`` with writer pools traced as each variant is (the untraced one is
    the run's own)."""
    with ExitStack() as pools:
        by_variant = {
            name: writers_off
            if name == tracing_cost.OFF
            else pools.enter_context(
                spawn.Pool(
                    WRITERS,
                    initializer=writers.set_up,
                    initargs=(
                        stack.api_database_url,
                        tracing_cost.variant_env(name, receiver.url),
                    ),
                )
            )
            for name in tracing_cost.VARIANTS
        }
        return tracing_cost.tracing_cost(
            stack=stack,
            pools=by_variant,
            receiver_url=receiver.url,
            shares=WRITERS,
            tap=tap,
            sampler=sampler,
            seconds=profile.tracing_seconds,
            recipient_ids=recipient_ids,
            category=CATEGORY,
            drain_timeout=profile.drain_timeout,
        )


def http_figures(
    stack: Stack, pool: Any, spawn: Any, load: Any, profile: Profile, phases: Phases
) -> dict[str, Any]:
    """Every scenario (and the baseline) at both sizes, each size in a database and behind
    a server of its own, and create + publish against the on_commit variants at the larger
    size: all of them in turns."""
    smaller, larger = profile.http_sizes
    seed = {
        "users": profile.http_users,
        "readers": profile.http_readers,
        "inbox": profile.http_inbox,
        "notices": smaller,
        "audience": profile.http_audience,
        "read_share": 0.2,
        "seed": 7,
    }
    with ExitStack() as servers:
        larger_database, larger_pool = servers.enter_context(larger_world_database(stack, spawn))
        worlds = {
            str(smaller): pool.apply(writers.seed_http_world, kwds=seed),
            str(larger): larger_pool.apply(writers.seed_http_world, kwds=seed),
        }
        phases.done()
        phases.start(f"HTTP: {larger - smaller:,} more notices to other users (larger size)")
        worlds[str(larger)] = larger_pool.apply(
            writers.grow_http_world, kwds={"world": worlds[str(larger)], "notices": larger}
        )
        for database_url in (stack.api_database_url, larger_database):
            vacuum_analyze(database_url, *HTTP_TABLES)
        # Its own relay too: each size's writes are relayed (and then consumed) as they
        # happen, as the smaller size's are by the stack's relay.
        on_larger = {"DATABASE_URL": larger_database}
        larger_api = servers.enter_context(api_server(stack, "api-larger", env=on_larger))
        servers.enter_context(another(stack, "relay", "relay-larger", env=on_larger))
        on_commit = {
            ON_COMMIT_VARIANTS[confirms]: servers.enter_context(
                on_commit_server(stack, confirms=confirms, database_url=larger_database)
            )
            for confirms in (False, True)
        }
        phases.done()
        phases.start(f"HTTP: {smaller:,} and {larger:,} notices and on_commit, in turns")
        every = http_load.SCENARIOS
        targets = {
            str(smaller): http_load.Target(stack.api_url, worlds[str(smaller)], every),
            str(larger): http_load.Target(larger_api, worlds[str(larger)], every),
            **{
                variant: http_load.Target(base_url, worlds[str(larger)], ("create_publish",))
                for variant, base_url in on_commit.items()
            },
        }
        figures = load.apply(
            http_load.run_targets,
            kwds={
                "targets": targets,
                "seconds": profile.http_seconds,
                "concurrency": profile.http_concurrency,
            },
        )
    return {
        "world": (
            f"{profile.http_users:,} users, {profile.http_audience} recipients a notice;"
            f" each of the {profile.http_readers} measured readers holds the same"
            f" {profile.http_inbox} notices at both sizes"
        ),
        "sizes": {
            size: {
                "notices": worlds[size]["notices"],
                "receipts": worlds[size]["receipts"],
                "scenarios": figures[size],
            }
            for size in (str(smaller), str(larger))
        },
        "on_commit": {
            variant: figures[variant]["create_publish"] for variant in ON_COMMIT_VARIANTS.values()
        },
    }


ON_COMMIT_VARIANTS = {False: "on_commit, no confirms", True: "on_commit with confirms"}


def http_ratios(http: dict[str, Any]) -> dict[str, Any]:
    """Each scenario at the larger size beside the smaller, and beside the baseline of its
    size; create + publish (larger size) beside the on_commit variants."""

    def per_second(size: str) -> dict[str, float]:
        scenarios = http["sizes"][size]["scenarios"]
        return {name: figures["operations_per_second"] for name, figures in scenarios.items()}

    smaller, larger = (per_second(size) for size in http["sizes"])
    ours = larger["create_publish"]
    return {
        "larger_vs_smaller": {
            name: round(larger[name] / smaller[name], 2) for name in http_load.SCENARIOS
        },
        "vs_baseline": {
            size: {
                name: round(figures[name] / figures[http_load.BASELINE], 2)
                for name in http_load.MEASURED
            }
            for size, figures in zip(http["sizes"], (smaller, larger), strict=True)
        },
        "create_publish_vs_on_commit": {
            variant: round(ours / figures["operations_per_second"], 2)
            for variant, figures in http["on_commit"].items()
        },
    }


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    baseline, recovered = results["baselines"], results["recovery"]
    best_delivery = max(step["delivered_per_second"] for step in results["pipeline"])
    return {
        "relay_vs_kombu_one_confirm": round(
            recovered["relay_events_per_second"] / baseline["kombu_one_confirm_per_second"], 2
        ),
        "relay_vs_aio_pika_windowed": round(
            recovered["relay_events_per_second"] / baseline["aio_pika_windowed_per_second"], 2
        ),
        "notifier_deliveries_per_second": best_delivery,
        "notifier_vs_faststream": round(
            best_delivery / baseline["faststream_consume_ack_per_second"], 2
        ),
        # Over the raw consumer measured right before and right after the notifier's window.
        "notifier_handling_vs_faststream": round(
            recovered["notifier_events_per_second"]
            / mean(recovered["faststream_consume_ack_per_second_beside"]),
            2,
        ),
        "http": http_ratios(results["http"]),
    }


def publish_docs(report: Path) -> Path:
    """docs/performance.md: how to read it, then the report; plots beside it in docs/."""
    docs = ROOT / "docs"
    images = docs / "performance"
    images.mkdir(exist_ok=True)
    for plot in ("latency.png", "backlog.png"):
        shutil.copy(report.parent / plot, images / plot)
    body = report.read_text().replace("](latency.png)", "](performance/latency.png)")
    body = body.replace("](backlog.png)", "](performance/backlog.png)")
    guide = (ROOT / "bench" / "system" / "READING.md").read_text()
    target = docs / "performance.md"
    target.write_text(guide + "\n" + body.replace("# Benchmark report", "## Latest report", 1))
    return target


def run(
    profile: Profile, command: str, notifier_roles: tuple[str, ...] | None, *, tracing: bool
) -> dict[str, Any]:
    started = time.time()
    spawn = multiprocessing.get_context("spawn")
    console = Console(stderr=True)
    phase_count = len(profile.steps) + 7 + (1 if tracing else 0)
    with (
        tempfile.TemporaryDirectory(prefix="notices-bench-") as work,
        ExitStack() as receiving,
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} phases"),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        phases = Phases(progress, phase_count)
        phases.start("starting the stack (API, relay, notifier, SMTP sink, webhook receiver)")
        receiver = receiving.enter_context(otlp_receiver(decode=False)) if tracing else None
        quiet = {"LOG_LEVEL": "WARNING"}
        unthrottled = {"THROTTLE_RATE_USER": "100000000/minute", **quiet}
        api_env = {"NOTICES_BENCH_BASELINE_ENDPOINT": "true", **unthrottled}
        with (
            running_stack(
                Path(work),
                api_env=api_env,
                notifier_env=quiet,
                relay_env=quiet,
                notifier_roles=notifier_roles,
            ) as stack,
            spawn.Pool(
                WRITERS, initializer=writers.set_up, initargs=(stack.api_database_url, {})
            ) as pool,
            spawn.Pool(1) as load,
            Tap(stack.amqp_url, EXCHANGE_NAME) as tap,
            Sampler(stack, tap) as sampler,
        ):
            results: dict[str, Any] = {
                "started_at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
                "command": command,
                "profile": profile.name,
                "settings": asdict(profile),
                "conditions": conditions(stack, profile, notifier_roles, receiver),
            }
            pool.starmap(writers.ready, [()] * WRITERS * 4)
            recipient_ids = prepare_delivery(stack, pool, recipients=10)
            phases.done()

            results["pipeline"] = []
            for rate, seconds in profile.steps:
                phases.start(f"pipeline at {f'{rate:g} events/s' if rate else 'full speed'}")
                step = pipeline_step(
                    stack=stack,
                    pool=pool,
                    shares=WRITERS,
                    tap=tap,
                    sampler=sampler,
                    rate=rate,
                    seconds=seconds,
                    recipient_ids=recipient_ids,
                    category=CATEGORY,
                    drain_timeout=profile.drain_timeout,
                )
                results["pipeline"].append(step)
                progress.console.log(
                    f"  {step['committed']} events, {step['delivered_per_second']:.0f}/s"
                    f" delivered, commit-to-delivered p99 {step['commit_to_delivered_ms']['p99']}"
                    " ms"
                )
                phases.done()

            if receiver is not None:
                phases.start("tracing: the unthrottled step off, every trace, one in ten")
                results["tracing_cost"] = tracing_phase(
                    stack, spawn, receiver, tap, sampler, profile, recipient_ids, writers_off=pool
                )
                phases.done()

            phases.start("baselines: kombu, aio-pika, FastStream")
            # What the notifier runs on competes with the baselines: let it finish the
            # pipeline's deliveries, then stop it (the recovery starts it again).
            results["ledger_drained_before_baselines"] = wait_until(
                lambda: sampler.latest().get("ledger_pending", 1) == 0,
                timeout=profile.drain_timeout,
            )
            stop_notifier(stack)
            window = pool.apply(writers.relay_confirm_window)
            results["baselines"] = baseline_figures(stack, profile, window)
            phases.done()

            phases.start(f"recovery: {profile.recovery_events:,} events while the relay is down")
            results["recovery"] = recovery(
                stack=stack,
                pool=pool,
                shares=WRITERS,
                tap=tap,
                sampler=sampler,
                events=profile.recovery_events,
                timeout=profile.recovery_timeout,
                notifier_window=profile.notifier_window,
                faststream_messages=profile.faststream_messages,
            )
            phases.done()

            phases.start("HTTP: seeding notices and users")
            results["http"] = http_figures(stack, pool, spawn, load, profile, phases)
            results["backlog"] = list(sampler.samples)
            results["broker_counts"] = {
                "notice.published": tap.counts[PUBLISHED_TYPE],
                "notice.read": tap.counts[READ_TYPE],
            }
        if receiver is not None:
            results["otlp"] = {"exports": receiver.exports, "bytes": receiver.bytes_received}
        results["ratios"] = ratios(results)
        results["duration_seconds"] = round(time.time() - started, 1)
        phases.done()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the short profile (make bench-quick)")
    parser.add_argument("--publish", action="store_true", help="also refresh docs/performance.md")
    parser.add_argument(
        "--notifier-split",
        action="store_true",
        help=f"the notifier as one process per role ({', '.join(SPLIT_NOTIFIER_ROLES)})",
    )
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="also the unthrottled step with tracing off, on for every trace and on for one"
        " trace in ten, in turns: what tracing costs the pipeline",
    )
    args = parser.parse_args()
    profile = QUICK if args.quick else FULL
    command = "make bench-quick" if args.quick else "make bench"
    flags = " ".join(
        flag
        for flag, on in (("--notifier-split", args.notifier_split), ("--tracing", args.tracing))
        if on
    )
    if flags:
        command += f" BENCH_ARGS={flags}" if " " not in flags else f" BENCH_ARGS='{flags}'"
    roles = SPLIT_NOTIFIER_ROLES if args.notifier_split else None
    results = run(profile, command, roles, tracing=args.tracing)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report = write_report(results, RESULTS_DIR / stamp)
    print(report.read_text())
    print(f"results: {report.parent}")
    if args.publish:
        print(f"published: {publish_docs(report)}")


if __name__ == "__main__":
    sys.exit(main())
