"""What the raw FastStream consume-and-ack baseline reads under each of its knobs.

Every variant consumes the same pre-filled quorum queue of persistent ``notice.read``
CloudEvents in a fresh process of its own (nothing else on its event loop), in a vhost
of this run. Variants run in rounds, interleaved, so that a busy moment of the machine
does not fall on one variant only. bench/BASELINES.md records what this found.

    uv run python -m bench.faststream_variants --messages 10000 --rounds 2
    uv run python -m bench.faststream_variants --only prefetch  # one group of variants
"""

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from bench import baselines

AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
QUEUE = "bench.variants"


@dataclass(frozen=True)
class Variant:
    group: str
    prefetch: int = 256
    # "off": no logger; "debug": FastStream's logger, its per-message lines at DEBUG
    # (below the logger's INFO, so dropped); "info": the per-message lines written.
    logging: str = "off"
    ack: str = "ack"  # an AckPolicy value, or "manual": MANUAL and ``await message.ack()``
    # "body": ``body: bytes`` + json.loads; "message": ``message: RabbitMessage`` (the
    # Context-injected message) + json.loads(message.body); "none": neither read nor parsed.
    parse: str = "body"
    clock: str = "first-message"  # or "broker-start": connecting and declaring timed too
    # "prometheus": FastStream's Prometheus middleware on the broker, as the notifier has it.
    middleware: str = "none"


VARIANTS = (
    Variant("chosen"),
    Variant("prefetch", prefetch=1),
    Variant("prefetch", prefetch=32),
    Variant("prefetch", prefetch=1024),
    Variant("logging", logging="debug"),
    Variant("logging", logging="info"),
    Variant("ack", ack="reject_on_error"),
    Variant("ack", ack="manual", parse="message"),
    Variant("ack", ack="ack_first"),  # acknowledged before handling: not a real consumer
    Variant("parse", parse="message"),
    Variant("parse", parse="none"),
    Variant("clock", clock="broker-start"),
    Variant("middleware", middleware="prometheus"),
    # The baseline as it was: prefetch 32, DEBUG lines, the Context-injected message
    # (its body not parsed), the connection timed.
    Variant("before", prefetch=32, logging="debug", parse="message", clock="broker-start"),
)


async def _consume(amqp_url: str, variant: Variant, count: int) -> tuple[float, float]:
    """Messages/s, and this process's CPU milliseconds per message, over the timed span."""
    from faststream import AckPolicy
    from faststream.rabbit import Channel, QueueType, RabbitBroker, RabbitMessage, RabbitQueue
    from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
    from prometheus_client import CollectorRegistry

    queue = RabbitQueue(QUEUE, queue_type=QueueType.QUORUM, durable=True)
    channel = Channel(prefetch_count=variant.prefetch)
    middlewares = (
        [RabbitPrometheusMiddleware(registry=CollectorRegistry(), app_name="variants")]
        if variant.middleware == "prometheus"
        else []
    )
    if variant.logging == "off":
        broker = RabbitBroker(
            amqp_url, default_channel=channel, logger=None, middlewares=middlewares
        )
    else:
        level = logging.DEBUG if variant.logging == "debug" else logging.INFO
        broker = RabbitBroker(
            amqp_url, default_channel=channel, log_level=level, middlewares=middlewares
        )
    policy = AckPolicy.MANUAL if variant.ack == "manual" else AckPolicy(variant.ack)
    consumed = 0
    first: float | None = None
    first_cpu = 0.0
    done = asyncio.Event()

    def count_one() -> None:
        nonlocal consumed, first, first_cpu
        if first is None:
            first, first_cpu = time.perf_counter(), time.process_time()
        consumed += 1
        if consumed == count:
            done.set()

    if variant.parse == "body":

        @broker.subscriber(queue, ack_policy=policy)
        async def parse_body(body: bytes) -> None:
            json.loads(body)
            count_one()

    elif variant.parse == "message":

        @broker.subscriber(queue, ack_policy=policy)
        async def parse_message(message: RabbitMessage) -> None:
            json.loads(message.body)
            if policy is AckPolicy.MANUAL:
                await message.ack()
            count_one()

    else:

        @broker.subscriber(queue, ack_policy=policy)
        async def count_only() -> None:
            count_one()

    started, started_cpu = time.perf_counter(), time.process_time()
    await broker.start()
    await done.wait()
    from_start = variant.clock == "broker-start"
    elapsed = time.perf_counter() - (started if from_start else first or 0)
    cpu = time.process_time() - (started_cpu if from_start else first_cpu)
    await broker.stop()
    return count / elapsed, cpu * 1000 / count


def _measure(amqp_url: str, variant: Variant, count: int) -> tuple[float, float]:
    asyncio.run(baselines.fill_quorum_queue(amqp_url, queue_name=QUEUE, count=count))
    # Formatted and written, but to nowhere: the cost of the lines, not of a terminal.
    logging.basicConfig(level=logging.INFO, stream=open(os.devnull, "w"))  # noqa: SIM115
    return asyncio.run(_consume(amqp_url, variant, count))


@contextmanager
def _vhost() -> Iterator[str]:
    name = f"notices-variants-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True)
    try:
        subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
            check=True,
        )
        parts = urlsplit(AMQP_URL)
        yield urlunsplit(parts._replace(path="/" + quote(name, safe="")))
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", help="one group of variants (always with 'chosen')")
    args = parser.parse_args()
    variants = [v for v in VARIANTS if args.only in (None, v.group) or v.group == "chosen"]
    spawn = multiprocessing.get_context("spawn")
    figures: dict[Variant, list[tuple[float, float]]] = {variant: [] for variant in variants}
    with _vhost() as amqp_url:
        for _ in range(args.rounds):
            for variant in variants:
                with spawn.Pool(1) as pool:
                    rate, cpu_ms = pool.apply(_measure, (amqp_url, variant, args.messages))
                figures[variant].append((rate, cpu_ms))
                load = os.getloadavg()[0]
                print(
                    f"{json.dumps(asdict(variant))}: {rate:.0f} msg/s,"
                    f" {cpu_ms:.3f} CPU ms/msg, load {load:.2f}",
                    flush=True,
                )
    print(f"\n{args.messages:,} messages a run; load average {os.getloadavg()[0]:.2f}\n")
    print(
        "| group | prefetch | logging | ack | parse | clock | middleware | msg/s (each round)"
        " | consumer CPU ms/msg (each round) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for variant, rounds in figures.items():
        rates = " / ".join(f"{rate:.0f}" for rate, _ in rounds)
        cpu = " / ".join(f"{cpu_ms:.3f}" for _, cpu_ms in rounds)
        print(
            f"| {variant.group} | {variant.prefetch} | {variant.logging} | {variant.ack}"
            f" | {variant.parse} | {variant.clock} | {variant.middleware} | {rates} | {cpu} |"
        )


if __name__ == "__main__":
    main()
