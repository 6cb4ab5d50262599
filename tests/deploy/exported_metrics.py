"""The Prometheus series each service exports, read from its registries, and the metric
names a PromQL expression uses.

Each service's metric modules are imported in a fresh interpreter and the process-wide
registry is listed family by family (``describe()``, so no collector touches a database);
a family's type gives its series names (``_total`` for a counter, ``_bucket``/``_sum``/
``_count`` for a histogram), as the exposition format writes them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from deploy_code import API_DIR, run_in_api

LIST_REGISTRY = """
import json
from prometheus_client import REGISTRY
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
    "gauge": ("",),
    "info": ("_info",),
    "unknown": ("",),
}
names = set()
for collector in list(REGISTRY._collector_to_names):
    for family in collector.describe() if hasattr(collector, "describe") else ():
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
print(json.dumps(sorted(names)))
"""

API_METRICS = (
    """
import django
django.setup()
import config.wsgi, notices_api.outbox.metrics  # the web process, and the relay's figures
"""
    + LIST_REGISTRY
)

NOTIFIER_METRICS = (
    """
import notifier.metrics, notifier.api.http_metrics
from notifier.app import build_broker
from notifier.settings import Settings
build_broker(Settings())  # FastStream's Prometheus middleware registers its families
"""
    + LIST_REGISTRY
)

# Series RabbitMQ's own rabbitmq_prometheus plugin exports (deploy/rabbitmq/enabled_plugins):
# its queue depths are the only view of the retry and dead-letter queues.
RABBITMQ_SERIES = frozenset({"rabbitmq_queue_messages_ready"})


def api_series() -> set[str]:
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.test", "TEST_DATABASE": "sqlite"}
    return set(run_in_api(API_METRICS, env))


def notifier_series() -> set[str]:
    completed = subprocess.run(
        [sys.executable, "-c", NOTIFIER_METRICS],
        env={"PATH": os.environ.get("PATH", ""), "NOTIFIER_ROLES": "consumer"},
        cwd=API_DIR.parent / "notifier",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return set(json.loads(completed.stdout.strip().splitlines()[-1]))


# PromQL's keywords (functions are told apart by the parenthesis after them).
PROMQL_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"and", "or", "unless", "bool", "offset"}
)
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()")


def promql_metric_names(expression: str) -> set[str]:
    """The metric names in ``expression``: identifiers that are not functions, keywords,
    label names of a grouping or matcher, or strings."""
    bare = _GROUPING.sub(" ", _RANGES.sub(" ", _MATCHERS.sub(" ", _STRINGS.sub(" ", expression))))
    return {
        name
        for name in _IDENTIFIER.findall(bare)
        if name not in PROMQL_KEYWORDS and not re.fullmatch(r"\d+[smhdwy]?", name)
    }
