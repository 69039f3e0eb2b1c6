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


class LoadView:
    """One progress line per profile point: sent/done, in flight, rate, tok/s, TTFT p50, errors."""

    def __init__(self, progress: Progress | None, max_requests: int | None, duration_s: float | None) -> None:
        self.progress, self.max_requests, self.duration_s = progress, max_requests, duration_s
        self.task: Any = None
        self.state: Any = None

    def show(self, st: Any, errors: Any, now: float) -> None:
        """Refresh from the live counters (called a few times a second, never per token)."""
        if self.progress is None or st is None:
            return
        if st is not self.state:
            self.state = st
            total = self.max_requests if self.max_requests is not None else self.duration_s
            self.task = self.progress.add_task(st.profile.label, total=total, stats="")
        elapsed = max(now - st.start, 1e-9)
        ttfts = sorted(st.ttfts[-500:])
        p50 = f"{1000 * ttfts[len(ttfts) // 2]:.1f} ms" if ttfts else "-"
        stats = (
            f"{st.done}/{st.sent} done, {st.sent - st.done} in flight, {st.done / elapsed:.1f} req/s, "
            f"{st.tokens / elapsed:.0f} tok/s, TTFT p50 {p50}, errors {st.errors}"
        )
        done = st.sent if self.max_requests is not None else min(elapsed, self.duration_s or elapsed)
        self.progress.update(self.task, completed=done, stats=stats)


@contextlib.contextmanager
def load_view(enabled: bool, max_requests: int | None, duration_s: float | None) -> Iterator[LoadView]:
    """The live view on stderr (or a silent one for --quiet / --json)."""
    if not enabled:
        yield LoadView(None, max_requests, duration_s)
        return
    progress = Progress(
        TextColumn("[bold]{task.description:<16}"),
        BarColumn(bar_width=20),
        TimeElapsedColumn(),
        TextColumn("{task.fields[stats]}"),
        console=Console(stderr=True),
        refresh_per_second=4,
    )
    with progress:
        yield LoadView(progress, max_requests, duration_s)
