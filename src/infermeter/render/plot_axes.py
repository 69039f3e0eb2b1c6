"""Axes that do not exaggerate: a series flat within noise is drawn against zero and says so.

Matplotlib fits the y axis to the data. For memory that moves 0.15 MiB around 689 MiB, that turns
a flat line into a cliff. When a series' whole range is below ``FLAT`` (1%) of its level, the axis
starts at zero and the panel carries a note "flat within 0.02% (range 0.15 MiB)". Point labels that
would sit on top of each other (sweep points with equal metrics) are merged into one label.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

FLAT = 0.01


def relative_range(values: Sequence[float]) -> float | None:
    """(max - min) / |mean| of the finite values; None when there are fewer than two or the mean is 0."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if len(vals) < 2:
        return None
    mean = sum(vals) / len(vals)
    return None if mean == 0 else (max(vals) - min(vals)) / abs(mean)


def honest_ylim(ax: Any, values: Sequence[float], unit: str = "", axis: str = "y") -> bool:
    """Start the axis (``y`` or ``x``) at zero with a "flat within noise" note when ``values`` vary by
    less than 1%."""
    rel = relative_range(values)
    if rel is None or rel >= FLAT:
        return False
    vals = [v for v in values if v is not None and math.isfinite(v)]
    top = max(vals)
    limits = (min(0.0, min(vals)), top * 1.15 if top > 0 else 1.0)
    ax.set_ylim(*limits) if axis == "y" else ax.set_xlim(*limits)
    span = max(vals) - min(vals)
    note = f"{axis}: flat within noise, range {span:.3g}{' ' + unit if unit else ''} ({rel:.2%} of the level)"
    ax.text(0.02, 0.04 if axis == "y" else 0.10, note, transform=ax.transAxes, fontsize=7, color="dimgray")
    return True


def percent_axis(ax: Any) -> None:
    """A share in percent: always 0 to 100, so 0% for every point is not blown up to ±0.04%."""
    ax.set_ylim(-3, 103)


def label_points(ax: Any, xs: Sequence[float], ys: Sequence[float], names: Sequence[str]) -> None:
    """One annotation per distinct position, naming every point there ("p01, p03")."""
    at: dict[tuple[float, float], list[str]] = {}
    for x, y, n in zip(xs, ys, names, strict=True):
        at.setdefault((round(x, 9), round(y, 9)), []).append(n)
    for (x, y), group in at.items():
        text = ", ".join(group) if len(group) <= 4 else f"{group[0]} ... {group[-1]} ({len(group)} points)"
        ax.annotate(text, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
