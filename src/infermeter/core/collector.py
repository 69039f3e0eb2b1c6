"""No garbage-collection pause inside a measured window.

A full collection of a large heap takes hundreds of milliseconds and freezes every thread of the
process, so every stream's timestamps stall at once and TTFT/ITL tails absorb the pause.
:func:`collector_off` collects and freezes what exists before the window (frozen objects are never
scanned again) and disables the collector until the window ends; :data:`COLLECTIONS` counts the
collections that still happened inside windows (a test asserts none).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: collections seen inside a ``collector_off`` window, per generation (for tests and reports)
COLLECTIONS = [0, 0, 0]
_depth = 0


def _count(phase: str, info: dict[str, Any]) -> None:
    if phase == "start" and _depth > 0:
        COLLECTIONS[info.get("generation", 2)] += 1


@contextmanager
def collector_off() -> Iterator[None]:
    """Collect and freeze before the window, keep the collector off inside it, restore after."""
    global _depth
    outer = _depth == 0
    was_enabled = gc.isenabled()
    if outer:
        gc.collect()
        gc.freeze()
        gc.disable()
        if _count not in gc.callbacks:
            gc.callbacks.append(_count)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if outer:
            gc.unfreeze()  # frozen objects rejoin the oldest generation: later windows freeze again
            if was_enabled:
                gc.enable()
