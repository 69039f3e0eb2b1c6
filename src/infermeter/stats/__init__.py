"""Summary statistics for benchmark measurements.

Modelled on pyperf: the raw per-repeat values are the source of truth and
everything here is derived from them on demand, so a report can always be
recomputed. Summaries also say when they should not be trusted (high
spread, too few samples) instead of silently printing a precise-looking
number.

All functions are pure; inputs are never modified.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from infermeter.stats.lazy import scipy_stats

__all__ = [
    "UNSTABLE_CV",
    "Summary",
    "bootstrap_ci",
    "ci_mean",
    "cluster_ci",
    "enough_samples",
    "holm",
    "knee",
    "percentile",
    "stability_warning",
    "summarize",
    "summary_dict",
]

#: Relative standard deviation above which a result is flagged unstable.
#: Same threshold pyperf uses for its "result may be unstable" warning.
UNSTABLE_CV = 0.10

# Minimum distance (in normalized units) between the curve and the chord for
# ``knee`` to report anything. Without it a curve that is almost a straight
# line in log2(x) would get an arbitrary "knee" chosen by measurement noise.
_KNEE_MIN_DIFF = 0.1


def _as_array(values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D sequence of numbers, got shape {arr.shape}")
    # Infinities are rejected together with NaN: a timing of inf means the
    # measurement failed, and it would turn every derived number into NaN.
    if not np.all(np.isfinite(arr)):
        raise ValueError("values must be finite (NaN/inf found)")
    return arr


@lru_cache(maxsize=256)
def _t_crit(confidence: float, df: int) -> float:
    # Cached because adaptive repeat loops ask for the same (confidence, df)
    # over and over, and scipy's ppf is comparatively slow.
    return float(scipy_stats().t.ppf((1.0 + confidence) / 2.0, df))


def _json_float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class Summary:
    """Descriptive statistics of one series of repeated measurements.

    ``stdev`` is the sample standard deviation (ddof=1) of the values and is 0.0 for a
    single value; ``units`` is the number of independent units behind them (equal to ``n`` when
    every value is its own unit); ``ci95_low``/``ci95_high`` bound the 95% confidence interval of
    the mean over those units, and are NaN when there are fewer than two units.
    """

    n: int
    mean: float
    median: float
    p90: float
    p99: float
    stdev: float
    min: float
    max: float
    ci95_low: float
    ci95_high: float
    units: int = 0  # 0: not given, read as n (every value its own unit)

    @property
    def n_units(self) -> int:
        """Independent units behind the values (``n`` when every value is its own unit)."""
        return self.units or self.n

    @property
    def has_ci(self) -> bool:
        """True when a confidence interval exists (two or more independent units)."""
        return self.n_units >= 2 and math.isfinite(self.ci95_low)

    p95: float = math.nan  # last so positional construction elsewhere keeps working

    @property
    def cv(self) -> float:
        """Coefficient of variation, ``stdev / |mean|`` (0.0 when the mean is 0).

        The absolute value keeps the ratio non-negative for series with a
        negative mean (e.g. deltas); for the usual positive timings it is
        exactly ``stdev / mean``.
        """
        if self.mean == 0:
            return 0.0
        return self.stdev / abs(self.mean)

    @property
    def unstable(self) -> bool:
        """True when n >= 2 and the stdev exceeds 10% of ``|mean|``.

        Exactly 10% is still considered stable.
        """
        if self.n < 2:
            return False
        return self.stdev > UNSTABLE_CV * abs(self.mean)

    @property
    def rel_ci_halfwidth(self) -> float:
        """Half-width of the 95% CI relative to ``|mean|``.

        ``inf`` when there is no interval (fewer than two units: no spread estimate, so no
        precision claim) or when the mean is 0 (relative width undefined).
        """
        if not self.has_ci or self.mean == 0:
            return math.inf
        return (self.ci95_high - self.ci95_low) / 2.0 / abs(self.mean)

    def to_dict(self) -> dict:
        """Plain-Python, JSON-safe representation including derived fields.

        Non-finite values (e.g. ``rel_ci_halfwidth`` for n == 1) become
        ``None`` because JSON has no NaN/Infinity.
        """
        return {
            "n": int(self.n),
            "units": int(self.n_units),
            "mean": _json_float(self.mean),
            "median": _json_float(self.median),
            "p90": _json_float(self.p90),
            "p95": _json_float(self.p95),
            "p99": _json_float(self.p99),
            "stdev": _json_float(self.stdev),
            "min": _json_float(self.min),
            "max": _json_float(self.max),
            "ci95_low": _json_float(self.ci95_low),
            "ci95_high": _json_float(self.ci95_high),
            "cv": _json_float(self.cv),
            "rel_ci_halfwidth": _json_float(self.rel_ci_halfwidth),
            "unstable": bool(self.unstable),
        }


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0 <= q <= 100) of ``values``.

    Uses linear interpolation between closest ranks (numpy's default
    method), so p50 of an even-length series is the midpoint of the two
    central values. Raises ValueError for empty input, non-finite values or
    ``q`` outside [0, 100].
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in [0, 100], got {q!r}")
    arr = _as_array(values)
    if arr.size == 0:
        raise ValueError("percentile of an empty sequence")
    return float(np.percentile(arr, q))


def ci_mean(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Student-t confidence interval of the mean of ``values``.

    Returns ``(low, high)``; every value is taken as an independent unit. With a single value
    there is no spread estimate and no interval: ``(nan, nan)``, never a zero-width interval.
    Raises ValueError for empty input, non-finite values or ``confidence`` outside (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    arr = _as_array(values)
    n = arr.size
    if n == 0:
        raise ValueError("confidence interval of an empty sequence")
    mean = float(np.mean(arr))
    if n == 1:
        return math.nan, math.nan
    half = _t_crit(confidence, n - 1) * float(np.std(arr, ddof=1)) / math.sqrt(n)
    return mean - half, mean + half


def cluster_ci(
    values: Sequence[float] | np.ndarray, units: Sequence[object] | None = None, confidence: float = 0.95
) -> tuple[float, float, int]:
    """``(low, high, n_units)``: CI of the mean of ``values`` over their independent units.

    ``units[i]`` names the unit value ``i`` belongs to (a batch id, a process, a request); None
    means every value is its own unit. The mean is the mean of all values (a ratio estimator
    when units differ in size) and its standard error is the cluster-robust one,
    ``sqrt(G/(G-1) * sum_g (S_g - mean*m_g)^2) / M`` over ``G`` units with sums ``S_g`` of ``m_g``
    values, with Student-t(G-1) critical values. For equal unit sizes this is exactly the
    t-interval of the unit means. Fewer than two units: ``(nan, nan, G)``.
    """
    arr = _as_array(values)
    if arr.size == 0:
        raise ValueError("confidence interval of an empty sequence")
    if units is None:
        low, high = ci_mean(arr, confidence)
        return low, high, int(arr.size)
    if len(units) != arr.size:
        raise ValueError(f"values and units differ in length ({arr.size} != {len(units)})")
    index: dict[object, int] = {}
    ids = np.array([index.setdefault(u, len(index)) for u in units])
    g = len(index)
    if g < 2:
        return math.nan, math.nan, g
    sums = np.bincount(ids, weights=arr, minlength=g)
    sizes = np.bincount(ids, minlength=g).astype(float)
    mean = float(arr.mean())
    resid = sums - mean * sizes
    se = math.sqrt(g / (g - 1) * float(np.sum(resid**2))) / arr.size
    half = _t_crit(confidence, g - 1) * se
    return mean - half, mean + half, g


def bootstrap_ci(
    values: Sequence[float],
    units: Sequence[object] | None = None,
    *,
    confidence: float = 0.95,
    resamples: int = 4000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean, resampling whole units (a cluster bootstrap).

    For scores that are neither normal nor 0/1 (e.g. VQA's 0, 1/3, 2/3, 1), where the Wilson
    interval does not apply. Seeded, so a report recomputes to the same interval. Fewer than two
    units: ``(nan, nan)``.
    """
    arr = _as_array(values)
    ids = (
        np.arange(arr.size)
        if units is None
        else np.unique(np.asarray(units, dtype=object).astype(str), return_inverse=True)[1]
    )
    g = int(ids.max()) + 1 if arr.size else 0
    if g < 2:
        return math.nan, math.nan
    sums = np.bincount(ids, weights=arr, minlength=g)
    sizes = np.bincount(ids, minlength=g).astype(float)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, g, size=(resamples, g))
    means = sums[pick].sum(axis=1) / sizes[pick].sum(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (step-down, controls the family-wise error rate), in input order.

    Testing many metrics at alpha 0.05 each flags about one in twenty unchanged metrics; comparing
    the adjusted p to alpha keeps the chance of any false flag at alpha.
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(pvalues[i])))
        out[i] = running
    return out


def summarize(values: Sequence[float], units: Sequence[object] | None = None) -> Summary | None:
    """Summarize a series of measurements.

    ``units`` (same length as ``values``) names the independent unit of each value; the
    percentiles describe the values, the CI of the mean is over the units (:func:`cluster_ci`).
    Returns None for an empty sequence (nothing was measured, which callers
    must report rather than paper over with zeros). Raises ValueError if any
    value is NaN or infinite.
    """
    arr = _as_array(values)
    n = int(arr.size)
    if n == 0:
        return None
    mean = float(np.mean(arr))
    stdev = float(np.std(arr, ddof=1)) if n > 1 else 0.0
    low, high, g = cluster_ci(arr, units)
    p50, p90, p95, p99 = (float(v) for v in np.percentile(arr, [50.0, 90.0, 95.0, 99.0]))
    return Summary(
        n=n,
        mean=mean,
        median=p50,
        p90=p90,
        p95=p95,
        p99=p99,
        stdev=stdev,
        min=float(np.min(arr)),
        max=float(np.max(arr)),
        ci95_low=low,
        ci95_high=high,
        units=g,
    )


def summary_dict(values: Sequence[float], units: Sequence[object] | None = None) -> dict[str, Any] | None:
    """:func:`summarize` as a report keeps it (:meth:`Summary.to_dict`); None when nothing was measured."""
    s = summarize(values, units)
    return s.to_dict() if s else None


def stability_warning(name: str, s: Summary, unit: str = "") -> str | None:
    """One human-readable warning line when ``s`` is unstable, else None.

    Example: ``"decode TPS: stdev is 14.2% of the mean (n=5); numbers may be
    unreliable"``. When ``unit`` is given the absolute mean and stdev are
    added inside the parentheses so the reader sees the scale too.
    """
    if not s.unstable:
        return None
    details = [f"n={s.n}"]
    if unit:
        details.append(f"mean {s.mean:.4g} {unit}")
        details.append(f"stdev {s.stdev:.4g} {unit}")
    spread = "stdev is non-zero but the mean is 0" if s.mean == 0 else f"stdev is {s.cv * 100:.1f}% of the mean"
    return f"{name}: {spread} ({', '.join(details)}); numbers may be unreliable"


def enough_samples(values: Sequence[float], *, target_rel_ci: float, min_n: int) -> bool:
    """Stopping rule for an adaptive repeat loop.

    True when at least ``min_n`` values were collected and the 95% CI
    half-width relative to the mean is at most ``target_rel_ci`` (e.g. 0.02
    for +/-2%). Fewer than 2 values never suffice, since one value carries
    no information about spread.
    """
    if not target_rel_ci >= 0.0:  # also rejects NaN
        raise ValueError(f"target_rel_ci must be >= 0, got {target_rel_ci!r}")
    if min_n < 1:
        raise ValueError(f"min_n must be >= 1, got {min_n!r}")
    s = summarize(values)
    if s is None or s.n < min_n:
        return False
    return s.rel_ci_halfwidth <= target_rel_ci


def knee(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Point of diminishing returns of an increasing, concave curve.

    Intended for throughput vs. batch size, where ``xs`` grows roughly
    geometrically (1, 2, 4, ..., 64). A simplified Kneedle (Satopaa et al.,
    2011) is applied in log2(x): both log2(x) and y are min-max normalized
    to [0, 1] and the knee is the x whose normalized y lies furthest *above*
    the chord y = x, i.e. where doubling x stops buying proportional gains.
    Working in log2(x) makes every doubling count equally, matching how
    batch sizes are swept; in linear x nearly every such sweep would look
    like it saturates at the first few points.

    Returns None (rather than guessing) when:

    * fewer than 3 points are given - a bend needs an interior point;
    * the curve is not increasing overall (last y <= first y) - there is
      no "return" whose diminishing could be located;
    * no point lies at least 0.1 normalized units above the chord - the
      curve is straight or convex in log2(x) (for instance throughput
      growing linearly in x), so there is no knee within the measured
      range. Returning the largest x instead would falsely suggest
      saturation was observed there.

    Ties are resolved towards the smaller x, so the result is deterministic.
    Raises ValueError when the lengths differ, any value is non-finite, or
    ``xs`` is not strictly increasing and positive.
    """
    x = _as_array(xs)
    y = _as_array(ys)
    if x.size != y.size:
        raise ValueError(f"xs and ys differ in length ({x.size} != {y.size})")
    if x.size < 3:
        return None
    if np.any(x <= 0):
        raise ValueError("xs must be positive (log2 is taken)")
    if np.any(np.diff(x) <= 0):
        raise ValueError("xs must be strictly increasing")
    if y[-1] <= y[0]:
        return None

    lx = np.log2(x)
    x_norm = (lx - lx[0]) / (lx[-1] - lx[0])
    # y[-1] > y[0] guarantees max > min, so the division is safe.
    y_norm = (y - y.min()) / (y.max() - y.min())
    diff = y_norm - x_norm
    i = int(np.argmax(diff))  # first maximum on ties
    if diff[i] < _KNEE_MIN_DIFF:
        return None
    return float(x[i])
