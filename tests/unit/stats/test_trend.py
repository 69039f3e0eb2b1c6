"""Trend detection on seeded synthetic soak-test series: find real drifts, invent none."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from infermeter.stats.trend import MIN_N, analyze

N = 50
TRIALS = 400
BASE = 100.0
NOISE = 0.05  # relative standard deviation of the per-call noise


def _series(rng: np.random.Generator, drift_per_call: float = 0.0, n: int = N) -> np.ndarray:
    calls = np.arange(n)
    return BASE * (1 + drift_per_call * calls) + BASE * NOISE * rng.standard_normal(n)


def test_false_positive_rate_on_stable_series_is_at_most_5_percent():
    rng = np.random.default_rng(1)
    verdicts = [analyze(_series(rng)).verdict for _ in range(TRIALS)]
    false = sum(v != "stable" for v in verdicts)
    assert false / TRIALS <= 0.05, f"{false}/{TRIALS} stable series called a trend or step"


def test_one_percent_per_call_drift_is_found_at_least_95_percent_of_the_time():
    rng = np.random.default_rng(2)
    verdicts = [analyze(_series(rng, 0.01)).verdict for _ in range(TRIALS)]
    found = sum(v == "increasing" for v in verdicts)
    assert found / TRIALS >= 0.95, f"only {found}/{TRIALS} drifts found"


def test_a_falling_series_is_decreasing():
    trend = analyze(_series(np.random.default_rng(3), -0.01))
    assert trend.verdict == "decreasing"
    assert trend.slope < 0 and trend.mk_tau < 0


def test_slope_of_a_known_line_is_within_20_percent():
    rng = np.random.default_rng(4)
    true_slope = 0.5
    values = 3.0 + true_slope * np.arange(N) + 2.0 * rng.standard_normal(N)
    trend = analyze(values)
    assert trend.slope == pytest.approx(true_slope, rel=0.2)
    assert trend.slope_ci95[0] <= true_slope <= trend.slope_ci95[1]
    assert trend.intercept == pytest.approx(3.0, abs=2.0)
    assert trend.relative_slope == pytest.approx(trend.slope / np.median(values))


@pytest.mark.parametrize("seed", range(5))
def test_a_30_percent_jump_at_call_25_is_a_step(seed):
    values = _series(np.random.default_rng(10 + seed))
    values[25:] += 0.3 * BASE
    trend = analyze(values)
    assert trend.verdict == "step", trend
    assert abs(trend.step_at - 25) <= 2
    assert trend.step_size == pytest.approx(0.3 * BASE, rel=0.25)


def test_a_jump_followed_by_a_climb_is_increasing_not_step():
    values = _series(np.random.default_rng(20), 0.01)
    values[25:] += 0.3 * BASE
    trend = analyze(values)
    assert trend.verdict == "increasing"
    assert trend.step_at is not None  # the jump is still reported


def test_a_slow_first_call_is_not_a_trend():
    values = _series(np.random.default_rng(5))
    values[:2] = [7.8 * BASE, 3.0 * BASE]  # warm-up: compilation, cold caches
    assert analyze(values).verdict == "stable"


def test_negligible_drift_on_a_long_quiet_series_is_stable_and_says_why():
    rng = np.random.default_rng(6)
    n = 2000
    values = 1000.0 + 0.002 * np.arange(n) + 0.1 * rng.standard_normal(n)  # 0.0002% per call
    trend = analyze(values)
    assert trend.mk_p < 1e-6 and trend.slope_ci95[0] > 0  # statistically certain...
    assert trend.verdict == "stable"  # ...and irrelevant
    assert "below the 0.1%/call threshold" in trend.describe("memory", "MB")
    assert analyze(values, min_relative_slope=0.0).verdict == "increasing"


@pytest.mark.parametrize("n", [0, 1, 2, 5, MIN_N - 1])
def test_too_few_values_are_stable(n):
    trend = analyze(BASE * (1 + np.arange(n)))  # doubling every call: still too few to tell
    assert trend.verdict == "stable"
    assert trend.describe("latency", "ms") == f"latency: too few calls (n={n}) to tell"
    json.dumps(trend.to_dict())


def test_mann_kendall_matches_kendall_tau_b_with_ties():
    rng = np.random.default_rng(7)
    values = np.round(rng.standard_normal(40), 1) + 0.03 * np.arange(40)  # rounding makes ties
    trend = analyze(values)
    ref = stats.kendalltau(np.arange(40), values)
    assert trend.mk_tau == pytest.approx(ref.statistic)
    # Ours adds the usual continuity correction, so it is slightly more conservative.
    assert ref.pvalue <= trend.mk_p <= ref.pvalue * 1.2


def test_a_constant_series_is_stable():
    trend = analyze([5.0] * 20)
    assert trend.verdict == "stable"
    assert trend.slope == 0.0 and trend.mk_p == 1.0
    assert trend.step_at is None


def test_describe():
    calls = np.arange(N)
    rng = np.random.default_rng(8)
    latency_s = 0.78 + 0.012 * calls + 0.005 * rng.standard_normal(N)
    line = analyze(latency_s).describe("latency", "ms", scale=1000)
    assert line.startswith("latency +12.0 ms/call (")
    assert line.endswith(f"over {N} calls, p < 0.001)")

    memory_bytes = 2e9 + 3.1e6 * calls + 1e5 * rng.standard_normal(N)
    assert analyze(memory_bytes).describe("memory", "MB", scale=1e-6).startswith("memory +3.1 MB/call")

    assert analyze(_series(rng)).describe("latency", "ms") == f"latency stable over {N} calls"

    step = _series(np.random.default_rng(10))
    step[25:] += 30
    assert analyze(step).describe("latency", "ms").startswith("latency step +3")
    assert "ms after call 25 of 50 (p < 0.001)" in analyze(step).describe("latency", "ms")
    assert analyze(latency_s).describe("tps", "").startswith("tps +0.012/call")


def test_to_dict_is_json_safe():
    d = analyze(_series(np.random.default_rng(9), 0.01)).to_dict()
    assert json.loads(json.dumps(d))["verdict"] == "increasing"
    assert d["slope_ci95"][0] < d["slope"] < d["slope_ci95"][1]
    nan_fields = analyze([1.0]).to_dict()
    assert nan_fields["slope"] is None and nan_fields["mk_p"] is None


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="finite"):
        analyze([1.0, math.nan] * 5)
    with pytest.raises(ValueError, match="alpha"):
        analyze([1.0] * 10, alpha=1.5)
    with pytest.raises(ValueError, match="1-D"):
        analyze([[1.0, 2.0]])


def test_autocorrelated_noise_is_rarely_called_a_trend():
    # AR(1) noise (phi 0.8) has no trend; the plain Mann-Kendall test calls ~35% of such series
    # trending at alpha 0.01, the Hamed-Rao corrected one ~12%; seeded, so this is a count.
    from infermeter.stats.trend import _mann_kendall

    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(100):
        e = np.zeros(200)
        for i in range(1, 200):
            e[i] = 0.8 * e[i - 1] + rng.normal()
        hits += _mann_kendall(e)[1] < 0.01
    assert hits <= 20


def test_the_step_p_accounts_for_the_search():
    from infermeter.stats.trend import _largest_step

    x = np.random.default_rng(5).normal(1.0, 0.01, 120)
    x[60:] += 0.02
    k, size, p = _largest_step(x)
    assert 55 <= k <= 65 and size > 0.01
    assert 0 < p <= 0.001  # permutation p: 1 / (resamples + 1) at the least
