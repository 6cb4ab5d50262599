"""deploy/observability: the Grafana dashboard and the Prometheus alert rules.

The rules pass ``promtool check rules``; every metric the dashboard and the rules query
is one a service registers (or RabbitMQ's plugin exports); every alert names a runbook
of docs/operations.md, and every runbook has its alerts or says it has none.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from typing import Any

import pytest
import yaml
from deploy_code import ROOT, waits_for
from exported_metrics import RABBITMQ_SERIES, api_series, notifier_series, promql_metric_names

OBSERVABILITY = ROOT / "deploy" / "observability"
RULES = OBSERVABILITY / "alert-rules.yaml"
DASHBOARD = OBSERVABILITY / "grafana-dashboard.json"
OPERATIONS = ROOT / "docs" / "operations.md"
# The relay's gauges of parked rows and the aggregates held behind them, added with parking.
PARKING_GAUGES = frozenset({"outbox_parked_events", "outbox_held_aggregates"})


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_expressions() -> dict[str, str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {
        f"{panel['title']} / {target['refId']}": target["expr"]
        for panel in panels
        for target in panel["targets"]
    }


@cache
def exported_series() -> frozenset[str]:
    return frozenset(api_series() | notifier_series() | RABBITMQ_SERIES)


def runbook_anchors() -> dict[str, str]:
    """GitHub's anchor of each ``###`` heading under ``## Runbooks`` -> its section text."""
    runbooks = OPERATIONS.read_text().split("\n## Runbooks\n", 1)[1].split("\n## ", 1)[0]
    sections = re.split(r"^### ", runbooks, flags=re.MULTILINE)[1:]
    anchors = {}
    for section in sections:
        heading = section.splitlines()[0]
        anchor = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchors[anchor] = section
    return anchors


def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: `make test-packages` installs Debian's prometheus"
    completed = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize(
    ("where", "expression"),
    [
        *((f"alert {rule['alert']}", rule["expr"]) for rule in alert_rules()),
        *((f"panel {name}", expr) for name, expr in dashboard_expressions().items()),
    ],
)
def test_every_queried_metric_is_exported(where: str, expression: str) -> None:
    used = promql_metric_names(expression)
    assert used, f"{where}: no metric found in {expression!r}"
    missing = used - exported_series()
    if missing and missing <= PARKING_GAUGES and not PARKING_GAUGES & exported_series():
        waits_for(f"the relay's parking gauges {sorted(missing)} (branch not merged)")
    assert used <= exported_series(), f"{where}: {sorted(used - exported_series())} not exported"


def test_every_alert_names_an_existing_runbook() -> None:
    anchors = runbook_anchors()
    for rule in alert_rules():
        path, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert path == "docs/operations.md", rule["alert"]
        assert anchor in anchors, f"{rule['alert']}: no runbook #{anchor}"


def test_every_runbook_has_its_alerts_named() -> None:
    """Each runbook says which alerts and panels lead to it, and those alerts point back."""
    pointing: dict[str, set[str]] = {}
    for rule in alert_rules():
        pointing.setdefault(rule["annotations"]["runbook"].partition("#")[2], set()).add(
            rule["alert"]
        )
    for anchor, section in runbook_anchors().items():
        named = set(re.findall(r"`(\w+)`", _line(section, "- Alerts:")))
        assert named == pointing.get(anchor, set()), f"runbook #{anchor}: alerts {named}"
        assert _line(section, "- Panels:"), f"runbook #{anchor} names no dashboard panel"


def _line(section: str, prefix: str) -> str:
    lines = [line for line in section.splitlines() if line.startswith(prefix)]
    assert lines, f"runbook {section.splitlines()[0]!r} has no {prefix!r} line"
    return lines[0]


def test_dashboard_panels_name_real_panels_in_the_runbooks() -> None:
    titles = {panel["title"] for panel in json.loads(DASHBOARD.read_text())["panels"]}
    for section in runbook_anchors().values():
        for title in re.findall(r"\"([^\"]+)\"", _line(section, "- Panels:")):
            assert title in titles, f"{section.splitlines()[0]}: no panel {title!r}"
