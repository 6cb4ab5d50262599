"""The CLI's progress bar: drawn on stderr when forced (or on a terminal), silent otherwise."""

import pytest

from notifier.progress import progress_bar


def run(*, forced: bool) -> None:
    with progress_bar(description="dead letters", forced=forced) as report:
        report.started(3)
        for _ in range(3):
            report.advanced(1)


def test_silent_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    run(forced=False)
    assert capsys.readouterr().err == ""


def test_drawn_when_forced(capsys: pytest.CaptureFixture[str]) -> None:
    run(forced=True)
    err = capsys.readouterr().err
    assert "dead letters" in err
    assert "100%" in err
