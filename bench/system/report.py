"""results.json -> report.md and the two plots, in the run's results folder."""

import json
from pathlib import Path
from typing import Any

import matplotlib

from bench.system import tracing_cost

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

FASTSTREAM = "raw FastStream consume + parse + ack"
# HTTP goals: every read at the larger table size against the smaller, and each scenario
# (at the larger size) against the constant endpoint of the same server.
READS = ("list", "detail", "unread_count")
READ_FLOOR_LARGER_VS_SMALLER = 0.8
BASELINE_FLOORS = {"detail": 0.5, "unread_count": 0.5, "list": 0.3, "mark_read": 0.3}


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the benchmark with the measured figure and whether it was met."""
    steps = {step["offered_per_second"]: step for step in results["pipeline"]}
    ratios = results["ratios"]
    recovery = results["recovery"]
    rows = []

    def goal(name: str, measured: str, met: bool | None) -> None:
        rows.append({"goal": name, "measured": measured, "met": met})

    def delivered_within(rate: int, p99_below_ms: float, *, sustained: bool) -> None:
        """Every event of the step delivered (at the offered rate), its p99 below the bound."""
        if (step := steps.get(rate)) is None:
            return
        p99 = step["commit_to_delivered_ms"]["p99"]
        kept_up = not sustained or step["delivered_per_second"] >= 0.95 * rate
        goal(
            f"{rate:,} events/s {'sustained' if sustained else 'offered'}, each with a webhook"
            f" delivery, commit-to-delivered p99 < {p99_below_ms:g} ms",
            f"{step['delivered_per_second']:.0f}/s delivered, p99 {p99} ms",
            step["drained"] and kept_up and p99 is not None and p99 < p99_below_ms,
        )

    def at_least(name: str, ratio: float, floor: float) -> None:
        goal(f"{name} >= {floor:g}x {FASTSTREAM}", f"{ratio:.2f}x", ratio >= floor)

    delivered_within(100, 100, sustained=False)
    delivered_within(1000, 250, sustained=True)
    if (steady := steps.get(500)) is not None:
        p99 = steady["commit_to_broker_ms"]["p99"]
        goal(
            "commit-to-broker p99 < 50 ms at 500 events/s",
            f"p99 {p99} ms",
            p99 is not None and p99 < 50,
        )
    goal(
        "relay >= 2.5x kombu one-confirm-per-message",
        f"{ratios['relay_vs_kombu_one_confirm']:.2f}x",
        ratios["relay_vs_kombu_one_confirm"] >= 2.5,
    )
    at_least("notifier doing real deliveries", ratios["notifier_vs_faststream"], 0.5)
    at_least("notifier handling notice.read alone", ratios["notifier_handling_vs_faststream"], 0.8)
    smaller, larger = (f"{int(size):,}" for size in results["http"]["sizes"])
    for name in READS:
        ratio = ratios["http"]["larger_vs_smaller"][name]
        goal(
            f"{name} at {larger} notices >= {READ_FLOOR_LARGER_VS_SMALLER:g}x its op/s at"
            f" {smaller}",
            f"{ratio:.2f}x",
            ratio >= READ_FLOOR_LARGER_VS_SMALLER,
        )
    at_larger = list(ratios["http"]["vs_baseline"].values())[-1]
    for name, floor in BASELINE_FLOORS.items():
        goal(
            f"{name} >= {floor:g}x the bare-endpoint baseline ({larger} notices)",
            f"{at_larger[name]:.2f}x",
            at_larger[name] >= floor,
        )
    for variant, ratio in ratios["http"]["create_publish_vs_on_commit"].items():
        goal(
            f"create + publish >= 0.8x the on_commit variant ({variant})",
            f"{ratio:.2f}x",
            ratio >= 0.8,
        )
    goal(
        f"{recovery['events']:,}-event backlog drained in < 60 s",
        f"{recovery['relay_drain_seconds']} s",
        recovery["relay_drained"] and recovery["relay_drain_seconds"] < 60,
    )
    for name, variant in results.get("tracing_cost", {}).get("variants", {}).items():
        if name == tracing_cost.OFF:
            continue
        goal(
            f"tracing on ({name}): unthrottled pipeline >= {tracing_cost.FLOOR_VS_OFF:g}x its"
            " delivered/s with tracing off",
            f"{variant['vs_off']:.2f}x",
            variant["vs_off"] >= tracing_cost.FLOOR_VS_OFF,
        )
    return rows


ROUND_FIGURES = ("delivered_per_second", "committed_per_second", "commit_to_delivered_p50_ms")


def _tracing_section(cost: dict[str, Any]) -> list[str]:
    lines = [
        "## Tracing cost (same run)",
        "",
        f"The unthrottled pipeline step, {cost['seconds']:g} s each, in {cost['rounds']} rounds"
        " of the three variants in turns; the relay, the notifier and the writers restarted"
        " with each (bench/system/tracing_cost.py). Delivered/s per round, and the mean beside"
        " the untraced one.",
        "",
        "| tracing | sampler | delivered/s | committed/s | commit-to-delivered p50 (ms)"
        " | mean delivered/s | vs off |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, variant in cost["variants"].items():
        settings = variant["settings"]
        sampler = " ".join(
            settings.get(key, "") for key in ("OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG")
        ).strip()
        rounds = [
            " / ".join("-" if n is None else f"{n:.0f}" for n in variant[key])
            for key in ROUND_FIGURES
        ]
        lines.append(
            f"| {name} | {sampler or '-'} | {' | '.join(rounds)}"
            f" | {variant['mean_delivered_per_second']:.0f} | {variant['vs_off']:.2f}x |"
        )
    return [*lines, ""]


def _cpu_table(steps: list[dict[str, Any]]) -> list[str]:
    """Where each step's CPU went, by process: what bounds a pipeline on these cores."""
    measured = [step for step in steps if step.get("cpu_ms_per_event")]
    if not measured:
        return []
    groups = sorted(
        {name for step in measured for name in step["cpu_ms_per_event"]},
        key=lambda name: -max(step["cpu_ms_per_event"].get(name, 0) for step in measured),
    )
    return [
        "",
        "CPU per committed event, by process (ms; from /proc, each process with its"
        " children), and the cores busy in all, from the step's first commit until the"
        " drain check (once a second) found every event delivered: the pipeline's ceiling"
        " on this machine is about its cores over the sum.",
        "",
        f"| offered | {' | '.join(groups)} | sum | cores busy |",
        f"|---|{'---|' * len(groups)}---|---|",
        *(
            f"| {step['step']} | "
            + " | ".join(f"{step['cpu_ms_per_event'].get(name, 0):.2f}" for name in groups)
            + f" | {sum(step['cpu_ms_per_event'].values()):.2f} | {step['cpu_cores_busy']:.2f} |"
            for step in measured
        ),
    ]


def _ms(figures: dict[str, float | None]) -> str:
    return " / ".join("-" if figures[key] is None else f"{figures[key]:g}" for key in figures)


def render_markdown(results: dict[str, Any]) -> str:
    conditions = results["conditions"]
    lines = [
        f"# Benchmark report {results['started_at']}",
        "",
        f"`{results['command']}` ({results['profile']} profile,"
        f" {results['duration_seconds']:.0f} s)."
        " One run, one machine, one broker and database; compare the ratios, not the"
        " absolute figures.",
        "",
        "| condition | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in conditions.items()),
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
        "## Pipeline: commit -> broker -> webhook delivered",
        "",
        "Latencies in ms as p50 / p95 / p99 / max. Every event is a `notice.published`"
        " with one webhook delivery (and an email for one recipient in ten).",
        "",
        "| offered | committed/s | delivered/s | events | not delivered at the end"
        " | commit-to-broker | commit-to-delivered |",
        "|---|---|---|---|---|---|---|",
    ]
    for step in results["pipeline"]:
        lost = step["committed"] - step["delivered"]
        if step["purged_after_timeout"]:
            lost = f"{lost} (drain timed out)"
        lines.append(
            f"| {step['step']} | {step['committed_per_second']:.0f} |"
            f" {step['delivered_per_second']:.0f} | {step['committed']} | {lost} |"
            f" {_ms(step['commit_to_broker_ms'])} | {_ms(step['commit_to_delivered_ms'])} |"
        )
    lines += [
        "",
        "The notifier's share, stage by stage (p50 / p95 / p99 / max, ms): from the event at"
        " the broker to its inbox row (consume, batch, commit), from there to the start of"
        " its webhook's send (wake-up, claim), and the send until the receiver answered.",
        "",
        "| offered | broker to handled | handled to send | send |",
        "|---|---|---|---|",
        *(
            f"| {step['step']} | {_ms(step['broker_to_handled_ms'])} |"
            f" {_ms(step['handled_to_send_ms'])} | {_ms(step['send_ms'])} |"
            for step in results["pipeline"]
        ),
        *_cpu_table(results["pipeline"]),
    ]
    baselines, ratios, recovery = results["baselines"], results["ratios"], results["recovery"]
    faststream_beside = recovery["faststream_consume_ack_per_second_beside"]
    lines += [
        "",
        "![latency against offered load](latency.png)",
        "",
        "## Beside the baselines (same run, same broker)",
        "",
        "| ours | figure | baseline | figure | ratio |",
        "|---|---|---|---|---|",
        f"| relay draining the backlog | {recovery['relay_events_per_second']:.0f} ev/s"
        f" | kombu, one confirm per message | {baselines['kombu_one_confirm_per_second']:.0f}"
        f" msg/s | {ratios['relay_vs_kombu_one_confirm']:.2f}x |",
        f"| relay draining the backlog | {recovery['relay_events_per_second']:.0f} ev/s"
        f" | aio-pika, window of {baselines['aio_pika_window']} confirms"
        f" | {baselines['aio_pika_windowed_per_second']:.0f} msg/s"
        f" | {ratios['relay_vs_aio_pika_windowed']:.2f}x |",
        f"| notifier, best pipeline step | {ratios['notifier_deliveries_per_second']:.0f}"
        f" deliveries/s | {FASTSTREAM}"
        f" | {baselines['faststream_consume_ack_per_second']:.0f} msg/s"
        f" | {ratios['notifier_vs_faststream']:.2f}x |",
        f"| notifier handling `notice.read` alone | {recovery['notifier_events_per_second']:.0f}"
        f" events/s | {FASTSTREAM}, right before and right after the notifier's window"
        f" | {' and '.join(f'{rate:.0f}' for rate in faststream_beside)}"
        f" msg/s | {ratios['notifier_handling_vs_faststream']:.2f}x |",
    ]
    http = results["http"]
    larger = list(http["sizes"].values())[-1]["scenarios"]
    for variant, ratio in ratios["http"]["create_publish_vs_on_commit"].items():
        ours = larger["create_publish"]["operations_per_second"]
        theirs = http["on_commit"][variant]["operations_per_second"]
        lines.append(
            f"| HTTP create + publish, outbox | {ours:.0f} op/s | same, {variant}"
            f" | {theirs:.0f} op/s | {ratio:.2f}x |"
        )
    lines += [
        "",
        f"The {FASTSTREAM} baseline: {baselines['faststream_measures']}. The notifier was"
        " stopped during the baselines, "
        + (
            "once it had delivered what the pipeline steps left it."
            if results["ledger_drained_before_baselines"]
            else "before it had delivered all the pipeline steps left it (the wait timed out)."
        ),
        "",
        *(_tracing_section(results["tracing_cost"]) if "tracing_cost" in results else []),
        "## Recovery",
        "",
        f"{recovery['events']:,} `notice.read` events committed while the relay was stopped"
        f" ({recovery['backlog_written_per_second']:.0f} events/s written). From the relay's"
        f" start (its boot included) to the last event at the broker:"
        f" {recovery['relay_drain_seconds']} s ({recovery['relay_events_per_second']:.0f}"
        f" events/s), with the notifier stopped. The notifier, started then, handled"
        f" {recovery['notifier_events_per_second']:.0f} events/s of it with nothing else"
        " running, the raw FastStream consumer measured right before and right after it"
        f" ({' and '.join(f'{rate:.0f}' for rate in faststream_beside)} msg/s)"
        + (
            f"; the {recovery['notifier_left_when_purged']:,} it had not reached when the run"
            " moved on were purged."
            if recovery["notifier_left_when_purged"]
            else "."
        ),
        "",
        "![backlog over time](backlog.png)",
        "",
        f"## HTTP API ({http['world']})",
        "",
        "Operations per second at each table size, the ratio between them, and each"
        " scenario as a ratio of the baseline (`GET /api/v1/bench/baseline/`: a constant"
        " behind the same token authentication, throttling and rendering, on the same"
        " server) at the same size. Create + publish is two requests per operation.",
        "",
    ]
    sizes = list(http["sizes"].values())
    names = [f"{size['notices']:,} notices" for size in sizes]
    lines += [
        "| scenario | "
        + " | ".join(f"op/s, {name}" for name in names)
        + " | larger / smaller | "
        + " | ".join(f"vs baseline, {name}" for name in names)
        + " | larger / smaller, each over its baseline |",
        "|---|" + "---|" * (2 * len(sizes) + 2),
    ]
    vs_baseline = list(ratios["http"]["vs_baseline"].values())
    for name, ratio in ratios["http"]["larger_vs_smaller"].items():
        figures = [f"{size['scenarios'][name]['operations_per_second']:.0f}" for size in sizes]
        against = [f"{by_size[name]:.2f}x" if name in by_size else "-" for by_size in vs_baseline]
        smaller, larger = vs_baseline[0].get(name), vs_baseline[-1].get(name)
        corrected = f"{larger / smaller:.2f}x" if smaller and larger else "-"
        lines.append(
            f"| {name} | {' | '.join(figures)} | {ratio:.2f}x | {' | '.join(against)}"
            f" | {corrected} |"
        )
    lines += [
        "",
        "Both sizes, each in a database and behind a server of its own, are measured in"
        " turns. The last column also divides each by the baseline of its own size (its"
        " server's cost of the framework).",
        "",
        "Latency in ms (p50 / p95 / p99 / max) and statuses, each size and server:",
        "",
        "| server | notices | scenario | op/s | latency | statuses |",
        "|---|---|---|---|---|---|",
    ]
    runs = [("outbox", size["notices"], size["scenarios"]) for size in sizes]
    runs += [
        (variant, sizes[-1]["notices"], {"create_publish": figures})
        for variant, figures in http["on_commit"].items()
    ]
    for server, notices, scenarios in runs:
        for name, figures in scenarios.items():
            statuses = ", ".join(f"{code}: {n}" for code, n in figures["statuses"].items())
            lines.append(
                f"| {server} | {notices:,} | {name} | {figures['operations_per_second']:.0f} |"
                f" {_ms(figures['latency_ms'])} | {statuses} |"
            )
    return "\n".join(lines) + "\n"


def plot_latency(results: dict[str, Any], path: Path) -> None:
    steps = results["pipeline"]
    labels = [step["step"] for step in steps]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    series = [
        ("commit_to_delivered_ms", "p50", "delivered p50", "-"),
        ("commit_to_delivered_ms", "p95", "delivered p95", "-"),
        ("commit_to_delivered_ms", "p99", "delivered p99", "-"),
        ("commit_to_broker_ms", "p50", "broker p50", "--"),
        ("commit_to_broker_ms", "p99", "broker p99", "--"),
    ]
    for key, quantile, label, style in series:
        values = [step[key][quantile] for step in steps]
        axes.plot(labels, values, style, marker="o", label=label)
    axes.set_yscale("log")
    axes.set_xlabel("offered load (events/s)")
    axes.set_ylabel("latency from commit (ms, log)")
    axes.set_title("Latency percentiles against offered load")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_backlog(results: dict[str, Any], path: Path) -> None:
    samples = results["backlog"]
    figure, panels = plt.subplots(2, 1, figsize=(9, 6.5))
    windows = {
        "pipeline steps": (
            results["pipeline"][0]["window"][0],
            results["pipeline"][-1]["window"][1],
        ),
        "recovery": tuple(results["recovery"]["window"]),
    }
    for axes, (title, (start, end)) in zip(panels, windows.items(), strict=True):
        shown = [s for s in samples if start - 1 <= s["t"] <= end + 1]
        if not shown:
            continue
        t = [s["t"] - start for s in shown]
        axes.plot(t, [s["outbox_pending"] for s in shown], label="outbox rows pending")
        axes.plot(t, [s["ledger_pending"] for s in shown], label="ledger rows pending")
        first = shown[0]
        axes.plot(
            t,
            [
                (s["at_broker"] - first["at_broker"])
                - (s["events_handled"] - first["events_handled"])
                for s in shown
            ],
            label="at the broker, not yet handled by the notifier",
        )
        if title != "recovery":
            for step in results["pipeline"]:
                axes.axvline(step["window"][0] - start, color="grey", alpha=0.3)
                axes.text(step["window"][0] - start, 0, step["step"], fontsize=7, rotation=90)
        axes.set_title(f"Backlog over time: {title}")
        axes.set_xlabel("seconds")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_report(results: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    results["goals"] = goals(results)
    (folder / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plot_latency(results, folder / "latency.png")
    plot_backlog(results, folder / "backlog.png")
    report = folder / "report.md"
    report.write_text(render_markdown(results))
    return report
