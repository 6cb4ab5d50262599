"""A progress bar for CLI commands that may run long (``notifier dlq replay --all``).

Shown on a terminal, or when the operator asks (``--progress``, e.g. under
``kubectl exec`` without ``-t``); otherwise nothing is drawn, so logs and pipes
only get the command's own summary line.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import Progress


class ProgressReport(Protocol):
    def started(self, total: int) -> None: ...

    def advanced(self, steps: int) -> None: ...


class NoProgress:
    def started(self, total: int) -> None:
        pass

    def advanced(self, steps: int) -> None:
        pass


class _RichProgress:
    def __init__(self, progress: Progress, description: str) -> None:
        self._progress = progress
        self._task = progress.add_task(description, total=None)

    def started(self, total: int) -> None:
        self._progress.update(self._task, total=total)

    def advanced(self, steps: int) -> None:
        self._progress.advance(self._task, steps)


@contextmanager
def progress_bar(*, description: str, forced: bool = False) -> Iterator[ProgressReport]:
    """A bar on stderr when it is a terminal or ``forced``, else a report that draws nothing."""
    if not (forced or sys.stderr.isatty()):
        yield NoProgress()
        return
    console = Console(file=sys.stderr, force_terminal=forced or None)
    with Progress(console=console) as progress:
        yield _RichProgress(progress, description)
