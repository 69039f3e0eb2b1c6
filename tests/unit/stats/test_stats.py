"""Unit tests for infermeter.stats."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from infermeter.stats import (
    Summary,
    ci_mean,
    enough_samples,
    knee,
    percentile,
    stability_warning,
    summarize,
    summary_dict,
)

# t(0.975, df=4) from a printed t-table, kept independent of scipy so the
# test would catch a wrong quantile (e.g. one-sided 0.95) in the implementation.
T_975_DF4 = 2.7764451052

POW2 = [1, 2, 4, 8, 16, 32, 64]


def make_summary(mean: float, stdev: float, n: int = 5) -> Summary:
    half = 2.0 * stdev / math.sqrt(n) if n > 1 else 0.0
    return Summary(
        n=n,
        mean=mean,
        median=mean,
        p90=mean,
        p99=mean,
        stdev=stdev,
        min=mean,
        max=mean,
        ci95_low=mean - half,
        ci95_high=mean + half,
    )


# --- summarize ---------------------------------------------------------------


def test_summarize_hand_computed():
    s = summarize([1, 2, 3, 4, 5])
    assert s is not None
    assert s.n == 5
    assert s.mean == pytest.approx(3.0)
    assert s.median == pytest.approx(3.0)
    assert s.stdev == pytest.approx(math.sqrt(2.5))
    assert s.min == 1.0 and s.max == 5.0
    # Linear interpolation: rank 0.9 * 4 = 3.6 -> 4 + 0.6 * (5 - 4).
    assert s.p90 == pytest.approx(4.6)
    assert s.p99 == pytest.approx(4.96)
    half = T_975_DF4 * math.sqrt(2.5) / math.sqrt(5)
    assert s.ci95_low == pytest.approx(3.0 - half, rel=1e-9)
    assert s.ci95_high == pytest.approx(3.0 + half, rel=1e-9)
    assert s.cv == pytest.approx(math.sqrt(2.5) / 3.0)
    assert s.rel_ci_halfwidth == pytest.approx(half / 3.0, rel=1e-9)


def test_summarize_order_independent_and_input_untouched():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    s = summarize(values)
    assert values == [5.0, 1.0, 4.0, 2.0, 3.0]
    assert s == summarize(sorted(values))


def test_summarize_accepts_numpy_array():
    s = summarize(np.array([2.0, 4.0]))
    assert s is not None
    assert s.mean == 3.0
    assert isinstance(s.mean, float) and type(s.n) is int


def test_summarize_empty_is_none():
    assert summarize([]) is None


def test_summarize_single_value():
    s = summarize([7.5])
    assert s is not None
    assert s.n == 1
    assert s.mean == s.median == s.p90 == s.p99 == s.min == s.max == 7.5
    assert s.stdev == 0.0
    # one value: no interval at all (NaN, None in JSON), never a zero-width one
    assert math.isnan(s.ci95_low) and math.isnan(s.ci95_high)
    assert s.to_dict()["ci95_low"] is None and s.to_dict()["ci95_high"] is None
    assert s.has_ci is False
    assert s.cv == 0.0
    assert s.unstable is False
    assert s.rel_ci_halfwidth == math.inf


def test_summarize_constant_values():
    s = summarize([4.0, 4.0, 4.0])
    assert s is not None
    assert s.stdev == 0.0
    assert s.ci95_low == s.ci95_high == 4.0
    assert s.rel_ci_halfwidth == 0.0
    assert not s.unstable


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_summarize_rejects_non_finite(bad):
    with pytest.raises(ValueError):
        summarize([1.0, bad, 3.0])


def test_summary_is_frozen():
    s = summarize([1.0, 2.0])
    with pytest.raises(AttributeError):
        s.mean = 0.0  # type: ignore[misc]


# --- derived properties ----------------------------------------------------------


def test_unstable_boundary_exactly_ten_percent_is_stable():
    # [9, 10, 11]: mean 10, sample stdev exactly 1.0 -> exactly 10%.
    s = summarize([9.0, 10.0, 11.0])
    assert s.stdev == 1.0 and s.mean == 10.0
    assert s.unstable is False


def test_unstable_just_above_boundary():
    assert make_summary(10.0, 1.0000001).unstable is True
    assert make_summary(10.0, 0.9999999).unstable is False


def test_unstable_uses_absolute_mean():
    assert make_summary(-10.0, 1.5).unstable is True
    assert make_summary(-10.0, 0.5).unstable is False
    assert make_summary(-10.0, 1.5).cv == pytest.approx(0.15)


def test_unstable_requires_two_samples():
    assert make_summary(10.0, 5.0, n=1).unstable is False


def test_zero_mean_edge_cases():
    s = make_summary(0.0, 1.0)
    assert s.cv == 0.0
    assert s.rel_ci_halfwidth == math.inf
    assert s.unstable is True  # any spread around 0 is > 10% of 0


def test_to_dict_is_json_serializable():
    for values in ([1.0, 2.0, 3.0, 10.0], [42.0]):
        d = summarize(values).to_dict()
        text = json.dumps(d, allow_nan=False)
        back = json.loads(text)
        assert back["n"] == len(values)
        assert back["mean"] == pytest.approx(float(np.mean(values)))
        assert {"cv", "unstable", "rel_ci_halfwidth", "ci95_low", "ci95_high"} <= set(back)
        assert all(type(v) in (int, float, bool, type(None)) for v in d.values())


def test_summary_dict_is_the_report_form_of_summarize():
    assert summary_dict([]) is None  # nothing measured: no zeros in its place
    assert summary_dict([3.0, 1.0, 2.0]) == summarize([3.0, 1.0, 2.0]).to_dict()
    assert summary_dict([1.0, 2.0, 3.0, 4.0], units=["a", "a", "b", "b"])["units"] == 2


def test_to_dict_uses_none_for_non_finite():
    d = summarize([42.0]).to_dict()
    assert d["rel_ci_halfwidth"] is None
    assert d["unstable"] is False


# --- percentile ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0, 10.0), (25, 17.5), (50, 25.0), (75, 32.5), (100, 40.0), (90, 37.0)],
)
def test_percentile_hand_values(q, expected):
    # Rank q/100 * 3 between sorted [10, 20, 30, 40], linearly interpolated.
    assert percentile([40, 10, 30, 20], q) == pytest.approx(expected)


def test_percentile_single_value():
    assert percentile([3.0], 99) == 3.0


@pytest.mark.parametrize("q", [-0.1, 100.1, float("nan")])
def test_percentile_rejects_bad_q(q):
    with pytest.raises(ValueError):
        percentile([1.0, 2.0], q)


def test_percentile_rejects_empty_and_nan():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0, float("nan")], 50)


# --- ci_mean -------------------------------------------------------------------------


def test_ci_mean_matches_hand_value():
    low, high = ci_mean([1, 2, 3, 4, 5])
    half = T_975_DF4 * math.sqrt(2.5) / math.sqrt(5)
    assert low == pytest.approx(3.0 - half, rel=1e-9)
    assert high == pytest.approx(3.0 + half, rel=1e-9)


def test_ci_mean_wider_at_higher_confidence():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    lo90, hi90 = ci_mean(values, confidence=0.90)
    lo99, hi99 = ci_mean(values, confidence=0.99)
    assert lo99 < lo90 < 3.0 < hi90 < hi99


def test_ci_mean_single_value_has_no_interval():
    lo, hi = ci_mean([2.5])
    assert math.isnan(lo) and math.isnan(hi)


@pytest.mark.parametrize("c", [0.0, 1.0, -0.5, 95])
def test_ci_mean_rejects_bad_confidence(c):
    with pytest.raises(ValueError):
        ci_mean([1.0, 2.0], confidence=c)


def test_ci_mean_rejects_empty():
    with pytest.raises(ValueError):
        ci_mean([])


def test_ci95_coverage_of_true_mean():
    rng = np.random.default_rng(20240611)
    true_mean, trials, size = 100.0, 2000, 10
    samples = rng.normal(true_mean, 15.0, size=(trials, size))
    hits = 0
    for row in samples:
        low, high = ci_mean(row)
        hits += low <= true_mean <= high
    coverage = hits / trials
    assert 0.93 <= coverage <= 0.97, coverage


# --- stability_warning -----------------------------------------------------------


def test_stability_warning_text():
    s = make_summary(100.0, 14.2, n=5)
    assert stability_warning("decode TPS", s) == (
        "decode TPS: stdev is 14.2% of the mean (n=5); numbers may be unreliable"
    )


def test_stability_warning_with_unit():
    s = make_summary(100.0, 14.2, n=5)
    msg = stability_warning("decode TPS", s, unit="tok/s")
    assert msg == (
        "decode TPS: stdev is 14.2% of the mean (n=5, mean 100 tok/s, stdev 14.2 tok/s); numbers may be unreliable"
    )
    assert "\n" not in msg


def test_stability_warning_none_when_stable():
    assert stability_warning("ttft", make_summary(100.0, 5.0)) is None
    assert stability_warning("ttft", make_summary(100.0, 10.0)) is None
    assert stability_warning("ttft", summarize([3.0])) is None


def test_stability_warning_zero_mean():
    msg = stability_warning("delta", make_summary(0.0, 1.0))
    assert msg is not None and msg.startswith("delta: ") and "mean is 0" in msg


# --- enough_samples --------------------------------------------------------------


def test_enough_samples_respects_min_n():
    tight = [100.0, 100.1, 99.9, 100.0, 100.05]
    assert enough_samples(tight, target_rel_ci=0.01, min_n=5) is True
    assert enough_samples(tight, target_rel_ci=0.01, min_n=6) is False


def test_enough_samples_respects_target():
    values = [1, 2, 3, 4, 5]
    rel = T_975_DF4 * math.sqrt(2.5) / math.sqrt(5) / 3.0  # ~0.654
    assert enough_samples(values, target_rel_ci=rel + 1e-6, min_n=3) is True
    assert enough_samples(values, target_rel_ci=rel - 1e-6, min_n=3) is False
    assert enough_samples(values, target_rel_ci=0.66, min_n=3) is True


def test_enough_samples_never_with_fewer_than_two():
    assert enough_samples([], target_rel_ci=1.0, min_n=1) is False
    assert enough_samples([5.0], target_rel_ci=1e9, min_n=1) is False


def test_enough_samples_converges_as_n_grows():
    rng = np.random.default_rng(7)
    values = list(rng.normal(50.0, 2.0, size=3))
    while not enough_samples(values, target_rel_ci=0.01, min_n=3):
        values.append(float(rng.normal(50.0, 2.0)))
        assert len(values) < 1000
    # Roughly (1.96 * 2 / (0.01 * 50))^2 ~ 61 samples are needed.
    assert 30 < len(values) < 150


@pytest.mark.parametrize("kwargs", [{"target_rel_ci": -0.1, "min_n": 3}, {"target_rel_ci": 0.1, "min_n": 0}])
def test_enough_samples_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        enough_samples([1.0, 2.0, 3.0], **kwargs)


# --- knee --------------------------------------------------------------------------


def test_knee_saturating_curve():
    assert knee(POW2, [min(x, 8) for x in POW2]) == 8.0


@pytest.mark.parametrize("cap", [4, 16, 32])
def test_knee_follows_the_saturation_point(cap):
    assert knee(POW2, [min(x, cap) for x in POW2]) == float(cap)


def test_knee_robust_to_small_noise():
    rng = np.random.default_rng(3)
    ys = [min(x, 8) * (1 + rng.normal(0, 0.02)) for x in POW2]
    assert knee(POW2, ys) == 8.0


def test_knee_scale_invariant_in_y():
    ys = [1000.0 * min(x, 8) + 50.0 for x in POW2]
    assert knee(POW2, ys) == 8.0


def test_knee_linear_curve_has_no_knee():
    # Documented choice: throughput still scaling linearly means no knee was
    # observed within the sweep, so None rather than the largest x.
    assert knee(POW2, [3.0 * x for x in POW2]) is None


def test_knee_straight_in_log_space_has_no_knee():
    assert knee(POW2, [math.log2(x) + 1 for x in POW2]) is None


def test_knee_too_few_points():
    assert knee([], []) is None
    assert knee([1, 2], [1, 2]) is None


@pytest.mark.parametrize("ys", [[5, 4, 3, 2, 1], [3, 3, 3, 3, 3], [2, 5, 4, 3, 2]])
def test_knee_not_increasing(ys):
    assert knee([1, 2, 4, 8, 16], ys) is None


@pytest.mark.parametrize(
    ("xs", "ys"),
    [
        ([1, 2, 4], [1, 2]),  # length mismatch
        ([1, 4, 2], [1, 2, 3]),  # not increasing
        ([1, 1, 2], [1, 2, 3]),  # duplicate x
        ([0, 1, 2], [1, 2, 3]),  # log2(0)
        ([1, 2, 4], [1, float("nan"), 3]),
    ],
)
def test_knee_rejects_bad_input(xs, ys):
    with pytest.raises(ValueError):
        knee(xs, ys)


def test_knee_is_deterministic():
    ys = [10, 19, 35, 60, 70, 72, 73]
    assert knee(POW2, ys) == knee(POW2, ys) == knee(tuple(POW2), np.array(ys))
