"""The HTTP API under load, from a load generator in a process of its own.

The API is served as production serves it (gunicorn, production settings, the
stack's workers and threads) over PostgreSQL databases seeded with users and published
notices, one per table size, each behind a server of its own. Each scenario keeps
``concurrency`` requests in flight for ``seconds`` in all and records every request's
latency and status. Every server and
scenario measured takes its turn in short rounds (the smaller size's baseline, list,
detail, ..., the larger size's, the on_commit variants', then again), so a machine that
is slower for a while (a checkpoint, another process) weighs on all of them alike, and
every ratio compares figures taken side by side.

Create + publish is also run against the on_commit variant
(``bench.system.on_commit_wsgi``): the same API, its events published by kombu in
``transaction.on_commit`` instead of written to the outbox.
"""

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.system.pipeline import percentiles

# The constant endpoint every scenario is also read against (core.views.BenchBaselineView).
BASELINE = "baseline"
MEASURED = ("list", "detail", "unread_count", "mark_read", "create_publish")
SCENARIOS = (BASELINE, *MEASURED)


# Rounds of about this long: shorter ones would weigh the ramp-down at each round's end.
ROUND_SECONDS = 2.0


@dataclass(frozen=True)
class Target:
    """One server to load: where it is, the world seeded behind it, its scenarios."""

    base_url: str
    world: dict[str, Any]
    scenarios: tuple[str, ...]


def run_targets(
    *, targets: dict[str, Target], seconds: float, concurrency: int
) -> dict[str, dict[str, dict[str, Any]]]:
    """In the load generator's process: each target's scenarios, operations/s and
    latencies. Every (target, scenario) takes its turn in rounds of about
    ``ROUND_SECONDS`` that add up to ``seconds`` for each."""
    return asyncio.run(_run(targets, seconds, concurrency))


async def _run(
    targets: dict[str, Target], seconds: float, concurrency: int
) -> dict[str, dict[str, dict[str, Any]]]:
    turns = [(target, name) for target in targets for name in targets[target].scenarios]
    latencies: dict[tuple[str, str], list[float]] = {turn: [] for turn in turns}
    statuses: dict[tuple[str, str], Counter[int]] = {turn: Counter() for turn in turns}
    elapsed = dict.fromkeys(turns, 0.0)
    rounds = max(1, round(seconds / ROUND_SECONDS))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with contextlib.AsyncExitStack() as clients:
        operations = {}
        for target, spec in targets.items():
            client = await clients.enter_async_context(
                httpx.AsyncClient(base_url=f"{spec.base_url}/api/v1", limits=limits, timeout=30)
            )
            for name in spec.scenarios:
                rng = random.Random(name)
                operations[target, name] = _operation(
                    name, client, spec.world, rng, statuses[target, name]
                )
        for _ in range(rounds):
            for turn in turns:
                elapsed[turn] += await _keep_in_flight(
                    operations[turn], latencies[turn], seconds / rounds, concurrency
                )
    return {
        target: {
            name: {
                "scenario": name,
                "operations": len(latencies[target, name]),
                "operations_per_second": round(
                    len(latencies[target, name]) / elapsed[target, name], 1
                ),
                "latency_ms": percentiles(latencies[target, name]),
                "statuses": {str(code): n for code, n in sorted(statuses[target, name].items())},
                "concurrency": concurrency,
                "seconds": seconds,
                "rounds": rounds,
            }
            for name in spec.scenarios
        }
        for target, spec in targets.items()
    }


async def _keep_in_flight(
    operation: Callable[[], Awaitable[None]],
    latencies: list[float],
    seconds: float,
    concurrency: int,
) -> float:
    """``concurrency`` workers repeating ``operation`` for ``seconds``; the time it took."""
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await operation()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def _operation(
    scenario: str,
    client: httpx.AsyncClient,
    world: dict[str, Any],
    rng: random.Random,
    statuses: Counter[int],
) -> Callable[[], Awaitable[None]]:
    recipients = world["recipients"]
    publisher = {"Authorization": f"Token {world['publisher_token']}"}

    def reader() -> tuple[dict[str, str], str]:
        chosen = rng.choice(recipients)
        notice_id = rng.choice(chosen["notice_ids"]) if chosen["notice_ids"] else ""
        return {"Authorization": f"Token {chosen['token']}"}, notice_id

    async def call(method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        response = await client.request(method, path, headers=headers, **kwargs)
        statuses[response.status_code] += 1
        return response

    async def baseline() -> None:
        await call("GET", "/bench/baseline/", reader()[0])

    async def list_notices() -> None:
        await call("GET", "/notices/", reader()[0])

    async def detail() -> None:
        headers, notice_id = reader()
        await call("GET", f"/notices/{notice_id}/", headers)

    async def unread_count() -> None:
        await call("GET", "/notices/unread-count/", reader()[0])

    async def mark_read() -> None:
        headers, notice_id = reader()
        await call("POST", f"/notices/{notice_id}/read/", headers)

    async def create_publish() -> None:
        draft = {"title": "Load test notice", "recipient_user_ids": world["audience_ids"]}
        created = await call("POST", "/notices/", publisher, json=draft)
        if created.status_code == 201:
            await call("POST", f"/notices/{created.json()['id']}/publish/", publisher)

    operations = {
        BASELINE: baseline,
        "list": list_notices,
        "detail": detail,
        "unread_count": unread_count,
        "mark_read": mark_read,
        "create_publish": create_publish,
    }
    return operations[scenario]
