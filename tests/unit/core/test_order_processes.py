"""Order effect with the process as the unit: within-process noise is not a position effect."""

from __future__ import annotations

import numpy as np

from infermeter.stats.abtest import order_effect, order_effect_across_processes


def _proc(rng, first: float, second: float, level_sd: float, calls: int = 8) -> dict[int, list[float]]:
    """One sequence process: each position's level gets its own offset, calls add tiny noise."""
    return {
        pos: list(base * (1 + level_sd * rng.standard_normal()) * (1 + 0.001 * rng.standard_normal(calls)))
        for pos, base in ((0, first), (1, second))
    }


def test_process_level_noise_is_not_called_an_order_effect():
    rng = np.random.default_rng(0)
    old = new = 0
    for _ in range(200):
        fwd = [_proc(rng, 100, 110, 0.03) for _ in range(2)]  # A=100 first, B=110 second
        rev = [_proc(rng, 110, 100, 0.03) for _ in range(2)]
        new += order_effect_across_processes("decode_tps", fwd, rev).order_matters
        by_pos = {"A": {0: fwd[0][0], 1: rev[0][1]}, "B": {0: rev[0][0], 1: fwd[0][1]}}
        old += order_effect("decode_tps", by_pos, ("A", "B")).order_matters
    assert new <= 6  # alpha 0.01: about 2 of 200
    assert old > 50  # the per-call test reads process noise as position


def test_a_real_position_effect_is_found():
    rng = np.random.default_rng(1)
    fwd = [_proc(rng, 100, 110 * 0.8, 0.01) for _ in range(3)]  # second position 20% slower
    rev = [_proc(rng, 110, 100 * 0.8, 0.01) for _ in range(3)]
    e = order_effect_across_processes("decode_tps", fwd, rev)
    assert e.order_matters and abs(e.position_effect + 0.2) < 0.05
    assert "3+3 processes" in e.verdict


def test_one_process_per_order_is_never_significant():
    rng = np.random.default_rng(2)
    e = order_effect_across_processes("x", [_proc(rng, 1, 2, 0.0)], [_proc(rng, 1, 2, 0.0)])
    assert e.position_p == 1.0 and not e.order_matters
