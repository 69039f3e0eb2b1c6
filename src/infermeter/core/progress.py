"""Progress display for long measurements (on stderr, so stdout stays clean for tables/JSON)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Silent:
    """The progress interface, doing nothing (workers, --quiet, --json)."""

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def advance(self, *args: Any, **kwargs: Any) -> None:
        return None

    def update(self, *args: Any, **kwargs: Any) -> None:
        return None


@contextlib.contextmanager
def phase_progress(enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar with one line per phase, or a silent stand-in."""
    if not enabled:
        yield Silent()
        return
    progress = Progress(
        TextColumn("[bold]{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with progress:
        yield progress
