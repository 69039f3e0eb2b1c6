"""Request streams with a controlled repeat ratio.

A response cache only helps when requests repeat, so how often they repeat decides what it is worth.
A cache measured with one input sent 100 times (a 99% repeat ratio). ``repeat_stream``
builds a seeded stream of ``n`` requests in which ``round(ratio * n)`` requests (at random positions,
never the first) repeat an earlier request, chosen uniformly among the distinct ones sent so far; all
other requests are new. With an unbounded cache the hit rate is exactly the repeat ratio.
"""

from __future__ import annotations

import numpy as np

from infermeter.errors import InfermeterError


def repeat_stream(n: int, ratio: float, seed: int) -> list[int]:
    """For each of ``n`` requests, the index of the distinct input it sends (0, 1, 2, ... in first-use order)."""
    if not 0 <= ratio < 1:
        raise InfermeterError(f"repeat ratio must be in [0, 1), got {ratio}")
    rng = np.random.default_rng([seed, 8])
    k = min(round(ratio * n), max(n - 1, 0))
    repeats = set(rng.choice(np.arange(1, n), size=k, replace=False).tolist()) if k else set()
    out: list[int] = []
    distinct = 0
    for pos in range(n):
        if pos in repeats:
            out.append(int(rng.integers(distinct)))
        else:
            out.append(distinct)
            distinct += 1
    return out


def distinct_needed(n: int, ratio: float) -> int:
    """How many distinct inputs a stream of ``n`` requests at ``ratio`` uses."""
    return n - min(round(ratio * n), max(n - 1, 0))
