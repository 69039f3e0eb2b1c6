"""How big a sweep may get before it is questioned, then refused.

Every point is a full run in a fresh worker (spawn, imports, model load, warm-up, measurement), so a
grid's size is its cost: a few knobs of a dozen values each make thousands of points, which is days
of machine time and as many run folders. Past :data:`LARGE` points the sweep warns with the count and
a lower bound on its duration; past :data:`HUGE` it is refused unless explicitly allowed.
"""

from __future__ import annotations

import math
from typing import Any

from infermeter.errors import InfermeterError

LARGE = 1_000  # more points than this: one warning line
HUGE = 10_000  # more points than this: refused unless allowed (--yes-large-sweep)
MIN_POINT_S = 10.0  # the least one point costs: a fresh worker imports torch and loads the model


def grid_size(knobs: list[Any], design: str) -> int:
    """Points the grid plans before duplicates are dropped, without building any of them."""
    if design == "one-at-a-time":
        return 1 + sum(len(k.values) - 1 for k in knobs)
    return math.prod(len(k.values) for k in knobs)


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def size_warning(points: int, allow_large: bool = False) -> str | None:
    """The warning line for a large grid, None for a small one; a huge one raises unless allowed."""
    if points <= LARGE:
        return None
    estimate = (
        f"{points:,} sweep points: at least {_duration(points * MIN_POINT_S)} at {MIN_POINT_S:g} s a point "
        "(each is a full run in a fresh worker)"
    )
    if points > HUGE and not allow_large:
        raise InfermeterError(
            f"{estimate}; more than {HUGE:,} points is refused: use fewer values, --design one-at-a-time, "
            "or --yes-large-sweep"
        )
    return estimate
