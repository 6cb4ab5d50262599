"""``notifier run`` freezes its start-up heap once the notifier is built, before serving."""

from typing import Any

import pytest
from typer.testing import CliRunner

from notifier import cli


def test_run_freezes_the_heap_after_building_the_notifier_and_before_serving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps: list[str] = []

    def build(_settings: Any) -> str:
        steps.append("build")
        return "notifier"

    async def serve(notifier: str) -> None:
        steps.append(f"serve {notifier}")

    monkeypatch.setattr(cli, "build_notifier", build)
    monkeypatch.setattr(cli, "freeze_startup_heap", lambda: steps.append("freeze"))
    monkeypatch.setattr(cli, "serve", serve)
    result = CliRunner().invoke(cli.cli, ["run"])
    assert result.exit_code == 0, result.output
    assert steps == ["build", "freeze", "serve notifier"]
