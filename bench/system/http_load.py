"""The HTTP API under load, from a load generator in a process of its own.

The API is served as production serves it (gunicorn, production settings, the
stack's workers and threads) over a PostgreSQL database seeded with users and
published notices. Each scenario keeps ``concurrency`` requests in flight for
``seconds`` in all and records every request's latency and status. The scenarios of
one size take turns in short rounds (baseline, list, detail, ..., then again), so a
machine that is slower for a while (a checkpoint, another process) weighs on all of
them alike instead of on whichever ran then, and every ratio to the baseline compares
figures taken side by side.

Create + publish is also run against the on_commit variant
(``bench.system.on_commit_wsgi``): the same API, its events published by kombu in
``transaction.on_commit`` instead of written to the outbox.
"""

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bench.system.pipeline import percentiles

# The constant endpoint every scenario is also read against (core.views.BenchBaselineView).
BASELINE = "baseline"
MEASURED = ("list", "detail", "unread_count", "mark_read", "create_publish")
SCENARIOS = (BASELINE, *MEASURED)


# Rounds of about this long: shorter ones would weigh the ramp-down at each round's end.
ROUND_SECONDS = 2.0


def run_scenarios(
    *,
    base_url: str,
    scenarios: tuple[str, ...],
    world: dict[str, Any],
    seconds: float,
    concurrency: int,
) -> dict[str, dict[str, Any]]:
    """In the load generator's process: each scenario's operations/s and latencies, the
    scenarios taking turns in rounds of about ``ROUND_SECONDS`` that add up to ``seconds``."""
    return asyncio.run(_run(base_url, scenarios, world, seconds, concurrency))


async def _run(
    base_url: str,
    scenarios: tuple[str, ...],
    world: dict[str, Any],
    seconds: float,
    concurrency: int,
) -> dict[str, dict[str, Any]]:
    latencies: dict[str, list[float]] = {name: [] for name in scenarios}
    statuses: dict[str, Counter[int]] = {name: Counter() for name in scenarios}
    elapsed = dict.fromkeys(scenarios, 0.0)
    rounds = max(1, round(seconds / ROUND_SECONDS))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=f"{base_url}/api/v1", limits=limits, timeout=30
    ) as client:
        operations = {
            name: _operation(name, client, world, random.Random(name), statuses[name])
            for name in scenarios
        }
        for _ in range(rounds):
            for name in scenarios:
                elapsed[name] += await _keep_in_flight(
                    operations[name], latencies[name], seconds / rounds, concurrency
                )
    return {
        name: {
            "scenario": name,
            "operations": len(latencies[name]),
            "operations_per_second": round(len(latencies[name]) / elapsed[name], 1),
            "latency_ms": percentiles(latencies[name]),
            "statuses": {str(code): n for code, n in sorted(statuses[name].items())},
            "concurrency": concurrency,
            "seconds": seconds,
            "rounds": rounds,
        }
        for name in scenarios
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
