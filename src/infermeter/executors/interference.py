"""Is a point measured alongside others the same as measured alone? Measured, not assumed.

Tasks sharing a host share its PCIe links, CPU cores and memory bandwidth; a GPU of its own does not
make a task independent of the others. ``--check-interference`` measures the sweep's first pending
point alone (nothing else running) before the sweep, then the sweep measures it again alongside the
other points; this module compares the two decode-speed distributions: the relative difference of
the means with a Welch 95% CI. The samples are the generate() calls of one run each (calls inside one
process), so the CI describes call-to-call noise, not run-to-run variation: a difference whose CI
excludes 0 says the neighbours changed the number; one inside the noise says they did not show.
"""

from __future__ import annotations

import math
from typing import Any

from infermeter.stats.lazy import scipy_stats as _sps

METRICS = (("decode_tps", "decode tok/s", True), ("ttft_s", "TTFT", False))


def welch(alone: dict[str, Any], along: dict[str, Any]) -> dict[str, Any] | None:
    """Relative difference ``along/alone - 1`` with its Welch 95% CI, from two summaries (None: too few)."""
    n1, n2 = alone.get("n") or 0, along.get("n") or 0
    m1, m2 = alone.get("mean"), along.get("mean")
    if n1 < 2 or n2 < 2 or not m1 or m2 is None:
        return None
    v1, v2 = (alone.get("stdev") or 0.0) ** 2 / n1, (along.get("stdev") or 0.0) ** 2 / n2
    se = math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / ((v1**2 / (n1 - 1)) + (v2**2 / (n2 - 1))) if v1 + v2 > 0 else n1 + n2 - 2
    half = _sps().t.ppf(0.975, df) * se
    diff = m2 - m1
    return {
        "alone_mean": m1,
        "along_mean": m2,
        "n_alone": n1,
        "n_along": n2,
        "relative": diff / m1,
        "ci95_low": (diff - half) / m1,
        "ci95_high": (diff + half) / m1,
    }


def verdict(metric: str, d: dict[str, Any]) -> str:
    """One line: the difference, its CI, and whether neighbours changed it."""
    span = f"{100 * d['relative']:+.1f}% [95% CI {100 * d['ci95_low']:+.1f}%, {100 * d['ci95_high']:+.1f}%]"
    moved = d["ci95_low"] > 0 or d["ci95_high"] < 0
    tail = "changed by the concurrent tasks" if moved else "no difference beyond the noise"
    return f"{metric} alongside vs alone: {span}, n={d['n_alone']}/{d['n_along']} calls: {tail}"


def assess(alone_report: dict[str, Any], along_report: dict[str, Any], point_id: str) -> dict[str, Any]:
    """The interference section of a sweep report, from the two run reports of one point."""
    out: dict[str, Any] = {"point": point_id, "metrics": {}, "lines": []}
    a, b = alone_report.get("metrics") or {}, along_report.get("metrics") or {}
    for key, name, _higher in METRICS:
        d = welch(a.get(key) or {}, b.get(key) or {})
        out["metrics"][key] = d
        out["lines"].append(verdict(name, d) if d else f"{name}: too few calls for a CI (need >= 2 in each run)")
    return out
