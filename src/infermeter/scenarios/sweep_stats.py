"""Sweep statistics over replicates (``sweep --replicates N``): the replicate as the unit of analysis.

Each point is measured N times, each replicate a full run in its own process, replicate k visiting
the points in its own seeded random order, so a slow drift of the machine (temperature, clocks,
other tenants) spreads over every point instead of lining up with one knob. A point's value is the
mean over its replicates with a Student-t CI over them (n = replicates); an effect (a knob value
against the knob's baseline) gets a Welch CI of the difference of the two points' means, and is
"not distinguishable" when that CI holds 0 (the effect is smaller than its CI). On a Pareto front,
a point dominated on the means whose dominance no CI confirms is marked as not significantly
dominated: within the noise it may belong on the front.

Pure functions of the sweep section (plain dicts); nothing here measures.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from infermeter import stats
from infermeter.metrics.registry import HIGHER
from infermeter.stats.lazy import scipy_stats


def order(ids: list[str], seed: int, replicate: int) -> list[str]:
    """The order replicate ``replicate`` (0-based) visits the points in: a permutation seeded by
    ``(seed, replicate)``, so each replicate has its own order and every order can be reproduced."""
    perm = np.random.default_rng([int(seed), int(replicate)]).permutation(len(ids))
    return [ids[int(i)] for i in perm]


def summary(values: list[float]) -> dict[str, Any] | None:
    """Mean over replicates with its CI over them (none with one replicate), and the values."""
    s = stats.summarize(values)
    if s is None:
        return None
    d = s.to_dict()
    keep = ("n", "mean", "stdev", "min", "max", "ci95_low", "ci95_high", "rel_ci_halfwidth")
    return {**{k: d[k] for k in keep}, "values": [float(v) for v in values]}


def diff_ci(a: list[float], b: list[float], confidence: float = 0.95) -> tuple[float, float, float] | None:
    """``(mean(a) - mean(b), low, high)``: Welch's interval of the difference (None with < 2 values in either)."""
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = float(np.var(a, ddof=1)) / len(a), float(np.var(b, ddof=1)) / len(b)
    d = float(np.mean(a) - np.mean(b))
    se2 = va + vb
    if se2 == 0:  # identical values within each point: the difference is exact
        return d, d, d
    df = se2**2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(scipy_stats().t.ppf((1 + confidence) / 2, df)) * math.sqrt(se2)
    return d, d - half, d + half


def _values(point: dict[str, Any] | None, metric: str) -> list[float]:
    s = ((point or {}).get("replicate_stats") or {}).get(metric) or {}
    return list(s.get("values") or [])


def effect(row_point: dict[str, Any] | None, base_point: dict[str, Any] | None, metric: str) -> dict[str, Any] | None:
    """One knob value's effect on ``metric`` against the baseline, with its CI over replicates."""
    got = diff_ci(_values(row_point, metric), _values(base_point, metric))
    if got is None:
        return None
    d, lo, hi = got
    base = float(np.mean(_values(base_point, metric)))
    rel = (lambda v: v / abs(base)) if base else (lambda v: None)
    return {
        "diff": d,
        "ci95_low": lo,
        "ci95_high": hi,
        "rel": rel(d),
        "rel_low": rel(lo),
        "rel_high": rel(hi),
        "distinguishable": not lo <= 0.0 <= hi,
    }


def effect_cis(effects: list[dict[str, Any]], points: list[dict[str, Any]], metrics: list[str]) -> None:
    """Add ``effect_ci`` (metric -> :func:`effect`) to every non-baseline row of the knob effects (in place)."""
    by_id = {p["id"]: p for p in points}
    for eff in effects:
        base_row = next((r for r in eff["rows"] if r["value"] == eff["baseline"]), None)
        base = by_id.get(base_row["point"]) if base_row and base_row.get("point") else None
        for row in eff["rows"]:
            if row is base_row or row["status"] != "complete" or base is None:
                continue
            p = by_id.get(row["point"])
            row["effect_ci"] = {m: e for m in metrics if (e := effect(p, base, m)) is not None}


def _significantly_better(b: dict[str, Any], a: dict[str, Any], metric: str, better: str) -> bool:
    got = diff_ci(_values(b, metric), _values(a, metric))
    if got is None:
        return False
    _, lo, hi = got
    return lo > 0 if better == HIGHER else hi < 0


def _dominates(b: dict[str, Any], a: dict[str, Any], f: dict[str, Any]) -> bool:
    s = [1.0 if f[k + "_better"] == HIGHER else -1.0 for k in ("x", "y")]
    bx, by, ax, ay = (p["metrics"][f[k]] for p in (b, a) for k in ("x", "y"))
    ge = s[0] * bx >= s[0] * ax and s[1] * by >= s[1] * ay
    return ge and (s[0] * bx > s[0] * ax or s[1] * by > s[1] * ay)


def front_significance(pareto: dict[str, Any], points: list[dict[str, Any]]) -> None:
    """Add ``not_significant`` to each front: the points off it whose dominance no CI confirms (in place).

    A dominated point is significantly dominated when some point that dominates it on the means is
    better on at least one of the two metrics with a Welch CI that excludes no difference.
    """
    by_id = {p["id"]: p for p in points}
    for f in pareto.values():
        cand = [by_id[i] for i in f["considered"]]
        off = [p for p in cand if p["id"] not in f["front"]]
        f["not_significant"] = [
            a["id"]
            for a in off
            if not any(
                _dominates(b, a, f) and any(_significantly_better(b, a, f[k], f[k + "_better"]) for k in ("x", "y"))
                for b in cand
            )
        ]


def annotate(sweep: dict[str, Any], metrics: list[str]) -> None:
    """Effect CIs and front significance for a sweep measured with replicates (no-op without)."""
    points = [p for p in sweep.get("points") or [] if p.get("planned", True)]
    if not any(p.get("replicate_stats") for p in points):
        return
    effect_cis(sweep.get("effects") or [], points, metrics)
    front_significance(sweep.get("pareto") or {}, points)


def replicate_warnings(sweep: dict[str, Any]) -> list[str]:
    """Lines for a replicated sweep: effects smaller than their CI, dominance that is not significant."""
    rep = sweep.get("replication") or {}
    if not rep:
        return []
    out = []
    if rep["replicates"] < 3:
        out.append(f"{rep['replicates']} replicates per point: CIs over replicates are wide (--replicates 3 or more)")
    vague = [
        f"{eff['key'].rsplit('.', 1)[-1]}={row['value']}"
        for eff in sweep.get("effects") or []
        for row in eff["rows"]
        if row.get("effect_ci") and not any(e["distinguishable"] for e in row["effect_ci"].values())
    ]
    if vague:
        out.append(
            f"not distinguishable from the baseline on any metric (effect smaller than its CI): {', '.join(vague)}"
        )
    for name, f in (sweep.get("pareto") or {}).items():
        if f.get("not_significant"):
            out.append(
                f"Pareto {name}: {', '.join(f['not_significant'])} dominated on the means, but not significantly"
            )
    return out
