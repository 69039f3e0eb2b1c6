"""Does a metric drift over a soak test? Trend and step detection for per-call series.

A soak test repeats the same call many times and asks whether latency or memory creeps up (a
leak, a growing cache, fragmentation) instead of staying flat. Eyeballing three numbers
(780 ms, 1.9 s, 2.7 s) cannot tell a leak from noise, so a series is tested three ways, all robust
to the outliers that real timings have (a slow first call, a GC pause):

* **Theil-Sen slope**: the median of all pairwise slopes, with its 95% confidence interval
  (``scipy.stats.theilslopes``). Unaffected by up to ~29% of wild values, unlike least squares.
* **Mann-Kendall test**: is there a monotonic trend at all? Counts, over all pairs of calls, how
  often the later one is larger; makes no assumption about the shape or the noise distribution,
  and its variance is corrected for autocorrelated noise (Hamed-Rao).
* **Step detection**: the single largest shift of the mean (the split that maximises the CUSUM
  statistic, as in one round of binary segmentation), kept only if a permutation test of that
  maximum (the best split of shuffled series, which accounts for the split having been chosen as
  the largest) gives p < 0.001 and the shift exceeds 3 times the noise. The noise is estimated from
  the median absolute first difference, which neither a step nor a slow trend inflates.

Verdict, and why:

* ``increasing`` / ``decreasing`` needs all three of: Mann-Kendall p < ``alpha``, a slope CI that
  excludes 0, and ``|slope| / median >= min_relative_slope`` (0.1% of the level per call by
  default). The last condition is the practical one: on a long, very quiet series a drift of
  0.001% per call is statistically certain and operationally irrelevant, and a soak-test report
  that cries "leak" for it trains people to ignore it.
* ``step`` when a significant step exists, fits the series better than the Theil-Sen line
  (smaller BIC: residual sum of squares, with a penalty for the step's extra parameter, its
  position) and the series with the step taken out passes none of the trend tests above. This
  wins over a trend of the raw series: a series that jumps once and stays flat also passes the
  trend test, since most later calls beat most earlier ones, and calling it a leak would be wrong.
  A jump followed by a continued climb is ``increasing``, with the step still reported in
  ``step_at``/``step_size``. The other way round, the best split of a steady drift is always a
  "significant" step on a long quiet series, so the comparison with the line is needed even when
  the drift itself is too small to be called a trend.
* ``stable`` otherwise, and always for fewer than 8 values: the tests have almost no power there
  and the normal approximation of Mann-Kendall is poor.

Calls are assumed independent. Noise that is itself autocorrelated (thermal throttling that comes
and goes over minutes) makes Mann-Kendall too eager; the relative-slope floor limits the damage.
Theil-Sen compares all pairs, so time and memory grow as n^2 (fine to a few thousand calls).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from infermeter.stats.lazy import scipy_stats as _sps

__all__ = ["MIN_N", "STEP_P", "Trend", "analyze"]

#: Fewer values than this are always "stable": too few to tell.
MIN_N = 8

#: A step is reported only below this permutation p-value (the permutation test accounts for the
#: split having been chosen as the most extreme of ~n candidates; the bar stays strict regardless).
STEP_P = 0.001

# A step must also exceed this many noise standard deviations. On 50 noisy calls a test reaches
# p < 0.001 for shifts of about one sigma; those are real but harmless, and mostly come from a slow
# trend that a step fits badly anyway.
_STEP_NOISE = 3.0

# Each side of a step keeps at least this many values, so each side's mean means something.
_STEP_MIN_SIDE = 4

# Floor for residual sums of squares, so that noiseless series (a perfect line or step) compare.
_TINY = 1e-300

# MAD of normal data times this is its standard deviation.
_MAD_TO_SD = 1.4826


def _json_float(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _num(x: float) -> str:
    # Signed, at least one decimal and two significant digits: "+12.0", "+3.1", "+0.031".
    if x == 0 or not math.isfinite(x):
        return f"{x:+.1f}"
    decimals = max(1, 1 - math.floor(math.log10(abs(x))))
    return f"{x:+.{decimals}f}"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _per_call(value: str, unit: str) -> str:
    return f"{value} {unit}/call" if unit else f"{value}/call"


@dataclass(frozen=True)
class Trend:
    """Result of :func:`analyze`. Slopes are per call, in the unit of the values.

    ``intercept`` is the fitted value at the first call (index 0). ``step_at`` is the index of the
    first value after the shift (``values[:step_at]`` is before it) and ``step_size`` the signed
    difference of the means after and before; both ``None`` when no significant step was found.
    ``relative_slope`` is the slope divided by ``|median(values)|``. Statistics that cannot be
    computed (n < 3) are NaN.
    """

    n: int
    slope: float
    slope_ci95: tuple[float, float]
    intercept: float
    mk_tau: float
    mk_p: float
    step_at: int | None
    step_size: float | None
    relative_slope: float
    verdict: str  # "increasing" | "decreasing" | "stable" | "step"
    step_p: float | None = None
    alpha: float = 0.01
    min_relative_slope: float = 0.001

    def describe(self, name: str, unit: str, scale: float = 1.0) -> str:
        """One line for a report; values are multiplied by ``scale`` (e.g. 1000 for s -> ms).

        ``"latency +12.0 ms/call (+1.5%/call over 50 calls, p < 0.001)"``,
        ``"latency step +240.0 ms after call 25 of 50 (p < 0.001)"``, ``"memory stable over 50
        calls"``, ``"latency: too few calls (n=5) to tell"``.
        """
        if self.n < MIN_N:
            return f"{name}: too few calls (n={self.n}) to tell"
        slope = _per_call(_num(self.slope * scale), unit)
        if self.verdict in ("increasing", "decreasing"):
            rel = f"{self.relative_slope * 100:+.2g}%/call"
            return f"{name} {slope} ({rel} over {self.n} calls, {_p(self.mk_p)})"
        if self.verdict == "step" and self.step_size is not None and self.step_p is not None:
            size = _num(self.step_size * scale)
            size = f"{size} {unit}" if unit else size
            return f"{name} step {size} after call {self.step_at} of {self.n} ({_p(self.step_p)})"
        line = f"{name} stable over {self.n} calls"
        low, high = self.slope_ci95
        if self.mk_p < self.alpha and not low <= 0 <= high:
            # Say why a significant drift was not called a trend, so nobody has to guess.
            rel = f"{abs(self.relative_slope) * 100:.2g}%/call"
            floor = f"{self.min_relative_slope * 100:.2g}%/call"
            line += f" (drift {slope} = {rel} is below the {floor} threshold)"
        return line

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python, JSON-safe dict (NaN/inf become ``None``)."""
        return {
            "n": int(self.n),
            "slope": _json_float(self.slope),
            "slope_ci95": [_json_float(self.slope_ci95[0]), _json_float(self.slope_ci95[1])],
            "intercept": _json_float(self.intercept),
            "mk_tau": _json_float(self.mk_tau),
            "mk_p": _json_float(self.mk_p),
            "step_at": self.step_at,
            "step_size": _json_float(self.step_size),
            "step_p": _json_float(self.step_p),
            "relative_slope": _json_float(self.relative_slope),
            "verdict": self.verdict,
            "alpha": self.alpha,
            "min_relative_slope": self.min_relative_slope,
        }


def _mann_kendall(x: np.ndarray) -> tuple[float, float]:
    """(tau-b, two-sided p) of the Mann-Kendall test with tie, continuity and autocorrelation corrections.

    The plain test assumes independent noise; serially correlated noise (a warm cache, a slowly
    varying clock) makes runs of rising values far more likely than that, and the test
    anti-conservative. The Hamed-Rao correction inflates the variance of S by
    ``1 + 2 / (n(n-1)(n-2)) * sum_k (n-k)(n-k-1)(n-k-2) rho_k`` over the significant lag-k
    autocorrelations ``rho_k`` of the ranks of the Theil-Sen-detrended series (Hamed and Rao, 1998).
    """
    n = x.size
    # Row by row instead of an n x n matrix: O(n) memory, and n numpy calls are cheap next to
    # Theil-Sen's n^2 / 2 slopes.
    s = int(sum(np.sign(x[i + 1 :] - x[i]).sum() for i in range(n - 1)))
    _, counts = np.unique(x, return_counts=True)
    t = counts[counts > 1].astype(float)
    var = (n * (n - 1) * (2 * n + 5) - float(np.sum(t * (t - 1) * (2 * t + 5)))) / 18.0
    pairs = n * (n - 1) / 2.0
    tied = float(np.sum(t * (t - 1) / 2.0))
    # tau-b: the time axis has no ties, so only the value ties shrink the denominator.
    tau = s / math.sqrt(pairs * (pairs - tied)) if pairs > tied else 0.0
    if var <= 0:  # every value equal
        return tau, 1.0
    var *= hamed_rao_factor(x)
    z = (s - math.copysign(1, s)) / math.sqrt(var) if s else 0.0
    return tau, float(2.0 * _sps().norm.sf(abs(z)))


def hamed_rao_factor(x: np.ndarray, alpha: float = 0.05) -> float:
    """The Hamed-Rao variance inflation ``n / n*`` for the Mann-Kendall S of ``x`` (>= 1 here).

    Only autocorrelations significant at ``alpha`` enter, as in the original; a factor below 1
    (negative correlation) is not used, so the correction never makes the test bolder.
    """
    n = x.size
    if n < 4:
        return 1.0
    # Theil-Sen over pairs up to 64 calls apart: the same estimate for a trend, O(64 n) not O(n^2)
    slope = float(np.median(np.concatenate([(x[lag:] - x[:-lag]) / lag for lag in range(1, min(n, 64))])))
    resid = x - slope * np.arange(n)
    r = _sps().rankdata(resid)
    r = r - r.mean()
    denom = float(np.dot(r, r))
    if denom == 0:
        return 1.0
    acf = np.correlate(r, r, mode="full")[n:] / denom  # lags 1..n-1
    k = np.arange(1, n)
    sig = np.abs(acf) > _sps().norm.ppf(1 - alpha / 2) / math.sqrt(n)
    w = (n - k) * (n - k - 1) * (n - k - 2)
    factor = 1.0 + 2.0 / (n * (n - 1) * (n - 2)) * float(np.sum(w * acf * sig))
    return max(factor, 1.0)


def _noise_sd(x: np.ndarray) -> float:
    # From first differences: a step changes only one of them and a slow trend shifts all of them
    # by the same small amount, so their MAD sees the call-to-call noise alone. The difference of
    # two independent values has sqrt(2) times their standard deviation.
    d = np.diff(x)
    return _MAD_TO_SD * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2.0)


def _largest_step(x: np.ndarray) -> tuple[int, float, float] | None:
    """(index, signed size, permutation p) of the largest mean shift, or None if there is no room for one."""
    n = x.size
    ks = np.arange(_STEP_MIN_SIDE, n - _STEP_MIN_SIDE + 1)
    if ks.size == 0:
        return None
    k = int(ks[np.argmax(_cusum(x, ks))])
    before, after = x[:k], x[k:]
    size = float(after.mean() - before.mean())
    if np.ptp(before) == 0 and np.ptp(after) == 0:  # both sides constant: any difference is certain
        return k, size, 0.0 if size != 0 else 1.0
    welch = float(_sps().ttest_ind(after, before, equal_var=False).pvalue)
    if not math.isfinite(welch) or welch >= STEP_P:
        # The t-test at the chosen split is the bolder of the two (it ignores the search), so a
        # split it does not call significant cannot pass the permutation test: skip the resampling.
        return k, size, welch if math.isfinite(welch) else 1.0
    return k, size, _step_permutation_p(x, ks)


def _cusum(x: np.ndarray, ks: np.ndarray) -> np.ndarray:
    # The CUSUM statistic: the shift weighted by how well both sides pin their mean down, so a
    # split next to the ends needs a larger shift to win.
    n = x.size
    csum = np.cumsum(x)
    left = csum[ks - 1] / ks
    right = (csum[-1] - csum[ks - 1]) / (n - ks)
    return np.abs(right - left) * np.sqrt(ks * (n - ks) / n)


def _step_permutation_p(x: np.ndarray, ks: np.ndarray, resamples: int = 1999) -> float:
    """p of the best split's statistic against the best split of shuffled series.

    The split was chosen as the largest of many; a t-test at that split ignores the choice and
    calls steps in pure noise. Shuffling keeps the values and destroys any order, and taking the
    maximum over splits in every shuffle accounts for the search. Seeded: a report recomputes the
    same p. The smallest attainable p is 1 / (resamples + 1).
    """
    observed = float(_cusum(x, ks).max())
    rng = np.random.default_rng(0)
    n, exceed, done = x.size, 0, 0
    chunk = max(1, min(resamples, 2_000_000 // max(n, 1)))  # bounded memory for long series
    w = np.sqrt(ks * (n - ks) / n)
    while done < resamples:
        m = min(chunk, resamples - done)
        perm = rng.permuted(np.broadcast_to(x, (m, n)), axis=1)
        csum = np.cumsum(perm, axis=1)
        left = csum[:, ks - 1] / ks
        right = (csum[:, -1:] - csum[:, ks - 1]) / (n - ks)
        exceed += int(np.sum((np.abs(right - left) * w).max(axis=1) >= observed * (1 - 1e-12)))
        done += m
    return (1 + exceed) / (resamples + 1)


def _fit(x: np.ndarray, t: np.ndarray) -> tuple[float, float, tuple[float, float], float, float]:
    """Theil-Sen (slope, intercept, slope CI95) and Mann-Kendall (tau, p) of ``x`` against ``t``."""
    fit = _sps().theilslopes(x, t, alpha=0.95)
    tau, p = _mann_kendall(x)
    return float(fit.slope), float(fit.intercept), (float(fit.low_slope), float(fit.high_slope)), tau, p


def _relative(slope: float, level: float) -> float:
    # A median of 0 (a series of deltas) gives no level to compare against: any drift is "large".
    if level > 0:
        return slope / level
    return 0.0 if slope == 0 else math.copysign(math.inf, slope)


def _trending(
    slope: float, ci: tuple[float, float], p: float, relative: float, alpha: float, min_relative: float
) -> bool:
    return p < alpha and not ci[0] <= 0.0 <= ci[1] and abs(relative) >= min_relative


def analyze(values: Sequence[float], *, alpha: float = 0.01, min_relative_slope: float = 0.001) -> Trend:
    """Trend of a per-call series (latency, memory, tokens/s...) in call order.

    ``alpha`` is the Mann-Kendall significance level for a monotonic trend; ``min_relative_slope``
    the smallest drift per call, as a fraction of the median, worth calling a trend. See the module
    docstring for the verdict rule. Raises ValueError for non-finite values or a bad ``alpha``.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if not min_relative_slope >= 0.0:  # also rejects NaN
        raise ValueError(f"min_relative_slope must be >= 0, got {min_relative_slope!r}")
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D sequence of numbers, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("values must be finite (NaN/inf found)")
    n = int(x.size)
    nan = math.nan
    options = {"alpha": alpha, "min_relative_slope": min_relative_slope}
    if n < 3:
        return Trend(n, nan, (nan, nan), nan, nan, nan, None, None, nan, "stable", **options)

    t = np.arange(n, dtype=float)
    slope, intercept, ci, tau, p = _fit(x, t)
    level = abs(float(np.median(x)))
    relative = _relative(slope, level)

    if n < MIN_N:
        return Trend(n, slope, ci, intercept, tau, p, None, None, relative, "stable", **options)

    step_at = step_size = step_p = None
    found = _largest_step(x)
    if found is not None:
        k, size, sp = found
        if sp < STEP_P and abs(size) > _STEP_NOISE * _noise_sd(x):
            step_at, step_size, step_p = k, size, sp

    verdict = "stable"
    if _trending(slope, ci, p, relative, alpha, min_relative_slope):
        verdict = "increasing" if slope > 0 else "decreasing"
    if step_at is not None:
        stepped = np.concatenate([x[:step_at] - x[:step_at].mean(), x[step_at:] - x[step_at:].mean()])
        sse_line = float(np.sum((x - (intercept + slope * t)) ** 2))
        # BIC: the step has one parameter more than the line (its position), and since that was
        # chosen as the best of ~n, it fits any series somewhat better; on a short ramp plain SSE
        # would call one call in ten a step. Penalised, it must beat the line by a factor exp(-ln(n)/n).
        if n * math.log(max(float(np.sum(stepped**2)), _TINY) / max(sse_line, _TINY)) + math.log(n) < 0:
            # The step explains the series better than the line. It is a "step" only if the series
            # is flat around it; a jump followed by a continued climb is still a trend, and the
            # more alarming of the two.
            r_slope, _, r_ci, _, r_p = _fit(stepped, t)
            if _trending(r_slope, r_ci, r_p, _relative(r_slope, level), alpha, min_relative_slope):
                verdict = "increasing" if r_slope > 0 else "decreasing"
            else:
                verdict = "step"
    return Trend(n, slope, ci, intercept, tau, p, step_at, step_size, relative, verdict, step_p, **options)
