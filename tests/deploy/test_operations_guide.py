"""docs/operations.md names only commands, settings and metrics that the code defines."""

import re

from deploy_code import (
    ROOT,
    api_env_reads,
    api_management_commands,
    metric_names,
    notifier_cli_commands,
    notifier_env_reads,
    notifier_settings_available,
    waits_for,
)

GUIDE = (ROOT / "docs" / "operations.md").read_text()
DJANGO_BUILTIN_COMMANDS = {"migrate"}
METRIC_PREFIXES = ("outbox_", "notifier_", "notices_api_")
READ_BY_THIRD_PARTIES = {
    "GUNICORN_CMD_ARGS",
    # The OpenTelemetry SDK's own (docs/operations.md, "Traces").
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_RESOURCE_ATTRIBUTES",
}


def backticked(pattern: str, text: str = GUIDE) -> set[str]:
    """Tokens matching ``pattern`` in inline code spans (fenced blocks hold placeholders)."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return {
        token for span in re.findall(r"`([^`\n]+)`", prose) for token in re.findall(pattern, span)
    }


def watch_table() -> str:
    section = GUIDE.split("## What to watch", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line.split("|")[1] for line in section.splitlines() if line.startswith("| `"))


def test_commands_exist() -> None:
    api_commands = set(re.findall(r"manage\.py (\w+)", GUIDE))
    notifier_commands = set(re.findall(r"`notifier (\w+)", GUIDE)) | set(
        re.findall(r"^notifier (\w+)", GUIDE, flags=re.MULTILINE)
    )
    known_api = api_management_commands() | DJANGO_BUILTIN_COMMANDS
    known_notifier = notifier_cli_commands()
    if "outbox_relay" not in known_api or not known_notifier:
        waits_for("the relay's and the notifier's commands (branches not merged)")
    assert api_commands - known_api == set()
    assert notifier_commands - known_notifier == set()


def test_settings_exist() -> None:
    named = backticked(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")
    known = set(api_env_reads()) | READ_BY_THIRD_PARTIES
    if not notifier_settings_available() or "outbox_relay" not in api_management_commands():
        waits_for("the relay's and the notifier's settings (branches not merged)")
    known |= set(notifier_env_reads())
    assert named - known == set()


def test_metrics_exist() -> None:
    named = {
        name.removesuffix("_total")
        for name in backticked(r"\b[a-z][a-z0-9_]+\b", watch_table())
        if name.startswith(METRIC_PREFIXES)
    }
    defined = metric_names()
    pending = []
    for prefix in METRIC_PREFIXES:
        of_service = {d for d in defined if d.startswith(prefix)}
        if not of_service:
            pending.append(prefix)
            continue
        assert {n for n in named if n.startswith(prefix)} - of_service == set()
    if pending:
        waits_for(f"the metrics {pending}* of unmerged branches")
