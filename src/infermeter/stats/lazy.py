"""scipy.stats on first use: importing it costs 0.4-1 s, and most commands (and every CLI start) never
need it."""

from __future__ import annotations

from typing import Any


def scipy_stats() -> Any:
    """The ``scipy.stats`` module, imported the first time it is asked for."""
    from scipy import stats

    return stats
