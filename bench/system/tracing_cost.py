"""``--tracing``: what OpenTelemetry tracing costs the pipeline, measured in one run.

The unthrottled pipeline step runs again and again, the relay and the notifier restarted
each time with tracing off, on for every trace, or on for one trace in ten, in turns
(``ROUNDS`` rounds of all three), each variant with writer processes of its own traced
the same way: an event's outbox write span is the root of its trace, as the API's request
span is, so the sampler decides there whether the trace is recorded. Spans go over
OTLP/HTTP to a receiver of the run that counts and drops them. Each traced variant's
delivered/s over the untraced steps of the same run is what tracing costs; taking turns
spreads a slow stretch of the machine over all three.
"""

from multiprocessing.pool import Pool
from statistics import mean
from typing import Any

from bench.system.pipeline import Sampler, Stack, Tap, notifier_processes, pipeline_step

OFF = "off"
# Sampler settings of each variant, as an operator sets them (None: no tracing at all).
VARIANTS: dict[str, dict[str, str] | None] = {
    OFF: None,
    "every trace": {"OTEL_TRACES_SAMPLER": "parentbased_always_on"},
    "one trace in ten": {
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
    },
}
ROUNDS = 2
# The bound on the cost of tracing on: under 15% of the pipeline's throughput.
FLOOR_VS_OFF = 0.85


def variant_env(name: str, receiver_url: str) -> dict[str, str]:
    sampler = VARIANTS[name]
    return {} if sampler is None else {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver_url, **sampler}


def restart_traced(stack: Stack, otel: dict[str, str]) -> None:
    """The relay and the notifier again, with these ``OTEL_*`` settings and no others."""
    processes = [stack.processes["relay"], *notifier_processes(stack)]
    for process in processes:
        process.stop()
        kept = {name: value for name, value in process.env.items() if not name.startswith("OTEL_")}
        process.env = {**kept, **otel}
    for process in processes:
        process.start(wait=False)
    for process in processes:
        process.wait_ready()


def tracing_cost(
    *,
    stack: Stack,
    pools: dict[str, Pool],
    receiver_url: str,
    shares: int,
    tap: Tap,
    sampler: Sampler,
    seconds: float,
    recipient_ids: list[str],
    category: str,
    drain_timeout: float,
) -> dict[str, Any]:
    """Each variant's unthrottled steps, and its delivered/s beside the untraced ones."""
    steps: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    try:
        for _ in range(ROUNDS):
            for name in VARIANTS:
                restart_traced(stack, variant_env(name, receiver_url))
                steps[name].append(
                    pipeline_step(
                        stack=stack,
                        pool=pools[name],
                        shares=shares,
                        tap=tap,
                        sampler=sampler,
                        rate=None,
                        seconds=seconds,
                        recipient_ids=recipient_ids,
                        category=category,
                        drain_timeout=drain_timeout,
                    )
                )
    finally:
        restart_traced(stack, {})  # the rest of the run untraced, as it began
    delivered = {
        name: mean(step["delivered_per_second"] for step in runs) for name, runs in steps.items()
    }
    return {
        "variants": {
            name: {
                "settings": VARIANTS[name] or {},
                "delivered_per_second": [step["delivered_per_second"] for step in runs],
                "committed_per_second": [step["committed_per_second"] for step in runs],
                "commit_to_delivered_p50_ms": [
                    step["commit_to_delivered_ms"]["p50"] for step in runs
                ],
                "mean_delivered_per_second": round(delivered[name], 1),
                "vs_off": round(delivered[name] / delivered[OFF], 2),
            }
            for name, runs in steps.items()
        },
        "rounds": ROUNDS,
        "seconds": seconds,
    }
