"""A/B statistics for ``compare``: paired ratios with a CI, a verdict, and the run-order test.

Per round every variant runs once (in its own process), so round r gives a pair (a_r, b_r) that
shared the machine's state at that time; the ratio is estimated on log(b_r / a_r) with a Student-t
interval and reported as a geometric-mean ratio. A difference counts only when the whole 95% CI
lies beyond ``min_effect`` (default 1%) from 1: two variants closer than their noise, or closer
than 1%, are "no significant difference".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from infermeter.stats.lazy import scipy_stats


@dataclass(frozen=True)
class Ratio:
    """How variant B compares with baseline A on one metric (``speedup`` > 1: B is better)."""

    metric: str
    baseline: str
    variant: str
    speedup: float  # B better when > 1, whatever the metric's direction
    ci95_low: float
    ci95_high: float
    n: int
    significant: bool
    verdict: str

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


def paired_speedup(
    a: Sequence[float], b: Sequence[float], *, higher_is_better: bool, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Geometric-mean speedup of B over A from paired samples, with its CI (inf-wide for n < 2)."""
    a_arr, b_arr = np.asarray(a, float), np.asarray(b, float)
    if len(a_arr) != len(b_arr) or len(a_arr) == 0:
        raise ValueError("paired samples must have the same, non-zero length")
    logs = np.log(b_arr / a_arr) if higher_is_better else np.log(a_arr / b_arr)
    mean = float(logs.mean())
    if len(logs) < 2:
        return math.exp(mean), 0.0, math.inf
    half = float(scipy_stats().t.ppf((1 + confidence) / 2, len(logs) - 1) * logs.std(ddof=1) / math.sqrt(len(logs)))
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def compare_pair(
    metric: str,
    baseline: str,
    variant: str,
    a: Sequence[float],
    b: Sequence[float],
    *,
    higher_is_better: bool,
    min_effect: float = 0.01,
) -> Ratio:
    """The ratio, its CI and a one-line verdict ("B is 1.21x faster [1.17, 1.25]")."""
    s, lo, hi = paired_speedup(a, b, higher_is_better=higher_is_better)
    faster = lo > 1 + min_effect
    slower = hi < 1 / (1 + min_effect)
    if faster:
        verdict = f"{variant} is {s:.2f}x faster than {baseline} on {metric} [{lo:.2f}, {hi:.2f}]"
    elif slower:
        verdict = f"{variant} is {1 / s:.2f}x slower than {baseline} on {metric} [{1 / hi:.2f}, {1 / lo:.2f}]"
    else:
        verdict = (
            f"no significant difference between {variant} and {baseline} on {metric} "
            f"(ratio {s:.3f}, 95% CI [{lo:.3f}, {hi:.3f}])"
        )
    return Ratio(metric, baseline, variant, s, lo, hi, len(a), faster or slower, verdict)


def ci_narrow_enough(r: Ratio, target: float) -> bool:
    """True when the CI's half-width (relative, on the log scale) is below ``target``."""
    if not math.isfinite(r.ci95_high) or r.ci95_low <= 0:
        return False
    return math.log(r.ci95_high / r.ci95_low) / 2 <= math.log1p(target)


@dataclass(frozen=True)
class OrderEffect:
    """Whether the position in a script (first or second) moved a result more than the variant did."""

    metric: str
    position_effect: float  # geometric mean of (2nd position / 1st position) over variants, -1
    position_p: float  # Welch t-test on log values, pooled over variants
    variant_effect: float  # geometric mean of (B / A) over positions, -1
    order_matters: bool
    verdict: str

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


def order_effect(
    metric: str,
    by_position: dict[str, dict[int, Sequence[float]]],
    names: tuple[str, str],
    alpha: float = 0.01,
) -> OrderEffect:
    """``by_position[variant][pos]``: samples of one metric for a variant run 1st (pos 0) or 2nd (pos 1)."""
    a, b = names
    first = np.concatenate(
        [np.log(np.asarray(by_position[v][0], float)) - np.log(np.median(by_position[v][0])) for v in names]
    )
    second = np.concatenate(
        [np.log(np.asarray(by_position[v][1], float)) - np.log(np.median(by_position[v][0])) for v in names]
    )
    pos = float(np.mean([np.log(np.median(by_position[v][1]) / np.median(by_position[v][0])) for v in names]))
    var = float(np.mean([np.log(np.median(by_position[b][p]) / np.median(by_position[a][p])) for p in (0, 1)]))
    p = (
        float(scipy_stats().ttest_ind(first, second, equal_var=False).pvalue)
        if len(first) > 1 and len(second) > 1
        else 1.0
    )
    if not math.isfinite(p):
        p = 1.0
    matters = p < alpha and abs(pos) > 0.01
    pe, ve = math.expm1(pos), math.expm1(var)
    if matters:
        verdict = (
            f"run order matters: running second changes {metric} by {pe:+.1%} (p={p:.2g}), "
            f"{'more' if abs(pos) > abs(var) else 'less'} than the variant does ({ve:+.1%})"
        )
    else:
        verdict = f"run order does not measurably change {metric} (position {pe:+.1%}, p={p:.2g}; variant {ve:+.1%})"
    return OrderEffect(metric, pe, p, ve, matters, verdict)


def order_effect_across_processes(
    metric: str,
    forward: Sequence[Mapping[int, Sequence[float]]],
    reverse: Sequence[Mapping[int, Sequence[float]]],
    alpha: float = 0.01,
) -> OrderEffect:
    """Order effect with the process as the unit: each sequence process gives one value.

    ``forward[k]`` / ``reverse[k]``: the samples at position 0 and 1 of the k-th process that ran
    A then B / B then A. Per process, ``d = log(median at position 1 / median at position 0)``:
    forward gives ``position + variant``, reverse ``position - variant``, so the position effect is
    ``(mean d_f + mean d_r) / 2`` and its test is Welch's on ``d_f`` against ``-d_r`` (the calls
    inside one process are not independent; processes are). Fewer than 2 processes per order: p = 1.
    """

    def d(proc: Mapping[int, Sequence[float]]) -> float:
        return float(np.log(np.median(proc[1]) / np.median(proc[0])))

    df = np.array([d(x) for x in forward])
    dr = np.array([d(x) for x in reverse])
    pos = float((df.mean() + dr.mean()) / 2)
    var = float((df.mean() - dr.mean()) / 2)
    p = 1.0
    if len(df) >= 2 and len(dr) >= 2 and (np.ptp(df) > 0 or np.ptp(dr) > 0):
        p = float(scipy_stats().ttest_ind(df, -dr, equal_var=False).pvalue)
    if not math.isfinite(p):
        p = 1.0
    matters = p < alpha and abs(pos) > 0.01
    pe, ve = math.expm1(pos), math.expm1(var)
    n = f"{len(df)}+{len(dr)} processes"
    if matters:
        verdict = (
            f"run order matters: running second changes {metric} by {pe:+.1%} (p={p:.2g}, {n}), "
            f"{'more' if abs(pos) > abs(var) else 'less'} than the variant does ({ve:+.1%})"
        )
    else:
        verdict = (
            f"run order does not measurably change {metric} (position {pe:+.1%}, p={p:.2g}, {n}; variant {ve:+.1%})"
        )
    return OrderEffect(metric, pe, p, ve, matters, verdict)
