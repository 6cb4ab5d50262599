"""A progress bar for management commands that may run long (resync, replay, prune).

Shown on a terminal, or when the operator asks (``--progress``, e.g. under
``kubectl exec`` without ``-t``); otherwise nothing is drawn, so logs and pipes
only get the command's own summary line.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO, cast

from django.core.management.base import CommandParser, OutputWrapper
from rich.console import Console
from rich.progress import Progress

Advance = Callable[[int], None]


def add_progress_argument(parser: CommandParser) -> None:
    """``--progress``, to pass on as ``progress_bar(forced=...)``."""
    parser.add_argument(
        "--progress", action="store_true", help="show the progress bar without a terminal"
    )


@contextmanager
def progress_bar(
    *, description: str, total: int | None, stream: OutputWrapper, forced: bool = False
) -> Iterator[Advance]:
    """Yield ``advance(n)``; it moves a bar of ``total`` steps when one is shown."""
    if not (forced or stream.isatty()):
        yield lambda _steps: None
        return
    # The command's stream itself: OutputWrapper would end each of rich's writes with a newline.
    target = cast(TextIO, stream._out)
    with Progress(console=Console(file=target, force_terminal=forced or None)) as progress:
        task = progress.add_task(description, total=total)
        yield lambda steps: progress.advance(task, steps)
