"""How intervals and A/B ratios are shown: ratios always variant / baseline, intervals of positive
numbers on the log scale (in every table: run, compare, CSV, Markdown, HTML).

A compare report stores each verdict as a ``speedup`` (> 1: the variant is better, whatever the
metric's direction). Tables show the plain ratio variant / baseline instead, beside which direction
is better for that metric, so "e2e_s 1.31" reads as "the variant took 1.31 times as long".

Times, rates and memory are positive and their noise is multiplicative, so their 95% interval is
computed on the log scale: ``mean · exp(± t · cv / √n)`` (the delta method from the summary's
mean, stdev and n). It is never negative and stays readable with 2 rounds, where the plain
``mean ± t · sd / √n`` of two wildly different values can reach below zero.
"""

from __future__ import annotations

import math
from typing import Any

from infermeter.stats.lazy import scipy_stats

# metric -> higher is better (the metrics compare can judge; the same table as the workers use)
HIGHER_IS_BETTER = {"decode_tps": True, "output_throughput": True, "e2e_s": False, "ttft_s": False}
HIGHER_IS_BETTER.update(first_call_s=False, load_s=False, first_measured_e2e_s=False, tpot_s=False)


def better(metric: str) -> str:
    """'higher is better' / 'lower is better' / '' for ``metric``."""
    hib = HIGHER_IS_BETTER.get(metric)
    return "" if hib is None else ("higher is better" if hib else "lower is better")


def variant_over_baseline(r: dict[str, Any]) -> tuple[float, float, float]:
    """(ratio, CI low, CI high) of variant / baseline from a stored ratio entry."""
    s, lo, hi = r["speedup"], r["ci95_low"], r["ci95_high"]
    if HIGHER_IS_BETTER.get(r["metric"], True):
        return s, lo, hi
    inv = lambda x: math.inf if x == 0 else 1 / x  # noqa: E731
    return inv(s), inv(hi), inv(lo)


def log_ci(d: dict[str, Any] | None) -> tuple[float, float] | None:
    """The log-scale 95% interval of a positive summary's mean (module docstring); None when n < 2."""
    if not d or d.get("n", 0) < 2 or not d.get("mean") or d["mean"] <= 0:
        return None
    cv = (d.get("stdev") or 0.0) / d["mean"]
    half = float(scipy_stats().t.ppf(0.975, d["n"] - 1)) * cv / math.sqrt(d["n"])
    return d["mean"] * math.exp(-half), d["mean"] * math.exp(half)


def verdict_line(r: dict[str, Any]) -> str:
    """One line per ratio, always variant / baseline with the metric's direction and the conclusion."""
    ratio, lo, hi = variant_over_baseline(r)
    if not r["significant"]:
        outcome = "no significant difference"
    else:
        outcome = f"{r['variant']} is {'better' if r['speedup'] > 1 else 'worse'}"
    return (
        f"{r['metric']} ({better(r['metric']) or 'ratio'}): {r['variant']} / {r['baseline']} = "
        f"{ratio:.3f} [{lo:.3f}, {hi:.3f}]: {outcome}"
    )
