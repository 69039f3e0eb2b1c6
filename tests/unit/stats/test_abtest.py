"""A/B statistics, checked by simulation with seeded synthetic samples."""

from __future__ import annotations

import numpy as np
import pytest

from infermeter.stats.abtest import ci_narrow_enough, compare_pair, order_effect, paired_speedup

ROUNDS = 8
TRIALS = 1000


def _trial(rng: np.random.Generator, effect: float, noise: float, rounds: int = ROUNDS):
    """Per-round decode TPS of A and B: B is `effect` faster, each value has `noise` relative noise."""
    drift = rng.normal(1.0, 0.05, rounds)  # machine state shared by both variants within a round
    a = 100 * drift * rng.normal(1.0, noise, rounds)
    b = 100 * (1 + effect) * drift * rng.normal(1.0, noise, rounds)
    return compare_pair("decode_tps", "A", "B", a, b, higher_is_better=True)


def test_identical_variants_are_no_difference_in_at_least_95_percent() -> None:
    rng = np.random.default_rng(123)
    same = sum(not _trial(rng, 0.0, 0.03).significant for _ in range(TRIALS))
    assert same / TRIALS >= 0.95


def test_ten_percent_with_three_percent_noise_is_detected_in_at_least_95_percent() -> None:
    rng = np.random.default_rng(321)
    results = [_trial(rng, 0.10, 0.03) for _ in range(TRIALS)]
    detected = sum(r.significant and r.speedup > 1 for r in results)
    assert detected / TRIALS >= 0.95
    assert "B is" in results[0].verdict and "faster" in results[0].verdict


def test_slower_variant_and_latency_direction() -> None:
    a = [1.0, 1.01, 0.99, 1.0]
    b = [1.2, 1.21, 1.19, 1.2]  # B takes 20% longer: slower on a lower-is-better metric
    r = compare_pair("e2e_s", "A", "B", a, b, higher_is_better=False)
    assert r.significant and r.speedup == pytest.approx(1 / 1.2, rel=1e-3)
    assert "1.20x slower" in r.verdict


def test_paired_speedup_geometric_mean_and_single_pair() -> None:
    s, lo, hi = paired_speedup([100, 100], [110, 121], higher_is_better=True)
    assert s == pytest.approx((1.1 * 1.21) ** 0.5)
    assert lo < s < hi
    s1, lo1, hi1 = paired_speedup([1.0], [2.0], higher_is_better=True)
    assert s1 == 2.0 and lo1 == 0.0 and hi1 == float("inf")
    with pytest.raises(ValueError):
        paired_speedup([1.0], [1.0, 2.0], higher_is_better=True)


def test_ci_narrow_enough() -> None:
    tight = compare_pair("m", "A", "B", [100, 100.5, 99.5, 100], [110, 110.2, 109.8, 110], higher_is_better=True)
    wide = compare_pair("m", "A", "B", [100, 150, 60, 100], [110, 80, 160, 100], higher_is_better=True)
    assert ci_narrow_enough(tight, 0.02) and not ci_narrow_enough(wide, 0.02)


def test_order_effect_detects_second_position_speedup() -> None:
    rng = np.random.default_rng(7)
    # Both variants are equal; whichever runs second is 30% faster (14 s vs 8 s pattern).
    by_pos = {v: {0: list(rng.normal(100, 2, 8)), 1: list(rng.normal(130, 2, 8))} for v in ("A", "B")}
    e = order_effect("decode_tps", by_pos, ("A", "B"))
    assert e.order_matters and e.position_effect == pytest.approx(0.30, abs=0.03)
    assert abs(e.variant_effect) < 0.03 and "run order matters" in e.verdict and "more than" in e.verdict


def test_order_effect_absent_when_only_the_variant_matters() -> None:
    rng = np.random.default_rng(8)
    by_pos = {
        "A": {0: list(rng.normal(100, 2, 8)), 1: list(rng.normal(100, 2, 8))},
        "B": {0: list(rng.normal(120, 2, 8)), 1: list(rng.normal(120, 2, 8))},
    }
    e = order_effect("decode_tps", by_pos, ("A", "B"))
    assert not e.order_matters and e.variant_effect == pytest.approx(0.20, abs=0.03)
    assert "does not measurably change" in e.verdict
