"""CPU seconds by process group, read from /proc: where a pipeline step's CPU went.

Linux only (the benchmark's machine); elsewhere ``cpu_seconds`` returns nothing and the
report leaves the table out.
"""

import os
from collections.abc import Mapping
from pathlib import Path

PROC = Path("/proc")
BENCHMARK = "benchmark (writers, tap, sampler)"
# Processes of the machine's own services, by their command name.
SERVICES_BY_COMMAND = {"postgres": "PostgreSQL", "beam.smp": "RabbitMQ"}


def _processes() -> dict[int, tuple[int, str, float]]:
    """Every process: its parent's pid, its command name and its CPU seconds so far."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[int, str, float]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        # The command name is in parentheses and may hold spaces; the fields follow it.
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (
            int(fields[1]),
            command,
            (int(fields[11]) + int(fields[12])) / tick,
        )
    return found


def cpu_seconds(roots: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds so far: of each named root's process tree, of the machine's PostgreSQL
    and RabbitMQ, and of this process's tree outside the roots (``BENCHMARK``)."""
    if not PROC.is_dir():
        return {}
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)

    def tree(root: int) -> set[int]:
        found, stack = set(), [root]
        while stack:
            pid = stack.pop()
            if pid in processes and pid not in found:
                found.add(pid)
                stack.extend(children.get(pid, ()))
        return found

    totals: dict[str, float] = {}
    claimed: set[int] = set()
    for name, root in roots.items():
        pids = tree(root)
        claimed |= pids
        totals[name] = totals.get(name, 0.0) + sum(processes[pid][2] for pid in pids)
    for _, command, seconds in processes.values():
        group = SERVICES_BY_COMMAND.get(command)
        if group is not None:
            totals[group] = totals.get(group, 0.0) + seconds
    totals[BENCHMARK] = sum(processes[pid][2] for pid in tree(os.getpid()) - claimed)
    return totals


def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds each group spent between two readings (a group gone since is left out)."""
    return {name: after[name] - before.get(name, 0.0) for name in after}
