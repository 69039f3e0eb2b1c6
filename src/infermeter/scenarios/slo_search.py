"""``--profile slo-search``: the highest request rate whose goodput still meets the SLO.

The search first runs the throughput profile (``--max-concurrency`` in flight): the rate it completes
is the server's ceiling and the upper bound. Then it bisects: a Poisson point at the middle of the
bracket, which moves the lower bound up when at least ``--slo-target`` of its measured requests met
every SLO and the upper bound down otherwise, until ``--search-points`` points have run or the
bracket is narrower than 5% of its top. Each point's attainment carries a 95% Wilson interval over its
requests, so a verdict that rests on a handful of requests shows as one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from infermeter.scenarios.load_profiles import LoadOptions, Profile

CLOSE = 0.05  # stop when the bracket is this narrow relative to its top


def wilson(good: int, total: int, z: float = 1.96) -> tuple[float, float] | None:
    """The 95% Wilson score interval of a proportion (None without requests)."""
    if total <= 0:
        return None
    p = good / total
    den = 1 + z * z / total
    mid = (p + z * z / (2 * total)) / den
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def _verdict(p: dict[str, Any], target: float) -> dict[str, Any]:
    g = p.get("goodput") or {}
    frac = g.get("fraction")
    ci = wilson(g.get("good", 0), g.get("total", 0))
    rate = p.get("target_rate") or p.get("request_rate")
    return {
        "profile": p["profile"],
        "rate": rate,
        "completed_rate": p.get("request_rate"),
        "attainment": frac,
        "attainment_ci95": list(ci) if ci else None,
        "goodput_rate": g.get("requests_per_s"),
        "meets": frac is not None and frac >= target,
    }


def search_state(points: list[dict[str, Any]], opts: LoadOptions) -> dict[str, Any]:
    """Where the search stands after ``points`` (pure): the bracket, the best rate, the next rate or None."""
    verdicts = [_verdict(p, opts.slo_target) for p in points]
    out: dict[str, Any] = {"target": opts.slo_target, "slo_s": dict(opts.slo), "points": verdicts}
    out.update(best_rate=None, best_point=None, bracket=None, next_rate=None, note=None)
    if not verdicts:
        return out
    top = verdicts[0]["completed_rate"]
    if not top:
        out["note"] = "the throughput point completed no request: nothing to search"
        return out
    if verdicts[0]["meets"]:
        out.update(best_rate=top, best_point=0, bracket=[top, top])
        out["note"] = "the SLO holds even at the server's throughput (it is not the limit)"
        return out
    lo, hi = 0.0, top
    for i, v in enumerate(verdicts[1:], 1):
        if v["meets"] and v["rate"] > lo:
            lo, out["best_rate"], out["best_point"] = v["rate"], v["rate"], i
        elif not v["meets"]:
            hi = min(hi, v["rate"])
    out["bracket"] = [lo, hi]
    if len(points) < opts.search_points and hi - lo > CLOSE * hi:
        out["next_rate"] = float(f"{(lo + hi) / 2:.4g}")
    elif out["best_rate"] is None:
        out["note"] = f"no rate tried meets the SLO (lowest tried: {hi:.4g} req/s)"
    return out


def search_profiles(opts: LoadOptions) -> Callable[[list[dict[str, Any]]], Profile | None]:
    """The next point of the search from the points measured so far (None: done)."""

    def nxt(done: list[dict[str, Any]]) -> Profile | None:
        if not done:
            return Profile("throughput", float(opts.max_concurrency))
        rate = search_state(done, opts)["next_rate"]
        return None if rate is None else Profile("poisson", rate)

    return nxt
