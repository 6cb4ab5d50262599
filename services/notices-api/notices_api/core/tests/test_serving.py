"""The web process (config.wsgi) and the relay freeze their start-up heap once it is built."""

import signal
from typing import Any

import pytest
from django.core.management import call_command

from notices_api.core.tests.web_process import web_process_output
from notices_api.outbox.management.commands import outbox_relay


def test_the_web_process_freezes_its_heap_once_the_application_is_loaded() -> None:
    probe = (
        "import gc\n"
        "from notices_contracts.heap import YOUNG_GENERATION_THRESHOLD\n"
        "print(gc.get_freeze_count() > 1000, gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD)\n"
    )
    assert web_process_output(probe).split() == ["True", "True"]


def test_the_relay_freezes_its_heap_after_building_the_relay_and_before_running_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps: list[str] = []

    class Relay:
        def run(self, *, once: bool) -> None:
            steps.append("run")

        def stop(self) -> None:
            pass

    def build() -> Any:
        steps.append("build")
        return Relay()

    monkeypatch.setattr(outbox_relay, "relay_from_settings", build)
    monkeypatch.setattr(outbox_relay, "freeze_startup_heap", lambda: steps.append("freeze"))
    monkeypatch.setattr(signal, "signal", lambda *_: None)  # pytest's handlers stay
    call_command("outbox_relay", "--once", "--metrics-port", "0")
    assert steps == ["build", "freeze", "run"]
