"""Batch-efficiency curve: efficiency(b) = thr(b) / (b * thr(1)) and its knee."""

from __future__ import annotations

import pytest

from infermeter.metrics.batching import batch_curve


def _points(curve):
    return {p["batch_size"]: p for p in curve["points"]}


def test_perfect_scaling_gives_efficiency_one_and_no_knee(simulate_batch):
    recs = []
    bid = 0
    for b in (1, 2, 4, 8):
        for _ in range(2):  # two repeats per batch size, identical
            recs += simulate_batch(prefill=0.5, step=0.0625, lengths=[9] * b, batch_id=bid, phase="batch")
            bid += 1
    curve = batch_curve(recs)
    pts = _points(curve)
    assert list(pts) == [1, 2, 4, 8]
    # Every batch takes 0.5 + 8 * 0.0625 = 1.0 s and returns 9 tokens per request: thr(b) = 9b
    for b, p in pts.items():
        assert p["throughput"]["n"] == 2  # one sample per generate() call
        assert p["throughput"]["mean"] == pytest.approx(9.0 * b)
        assert p["efficiency"] == pytest.approx(1.0)  # 9b / (b * 9)
        # decode: b * 8 tokens / (8 * 0.0625 = 0.5 s) = 16b
        assert p["decode_tps"]["mean"] == pytest.approx(16.0 * b)
    # Throughput linear in b is convex in log2(b): no point of diminishing returns.
    assert curve["knee_batch_size"] is None


def test_saturating_curve_has_a_knee(simulate_batch):
    # Same prefill 0.5 s and 9 tokens per request; the step time grows once the device is full.
    steps = {1: 0.0625, 2: 0.0625, 4: 0.0625, 8: 0.1875, 16: 0.4375}
    recs = []
    for bid, (b, step) in enumerate(steps.items()):
        recs += simulate_batch(prefill=0.5, step=step, lengths=[9] * b, batch_id=bid, phase="batch")
    pts = _points(batch_curve(recs))
    # wall = 0.5 + 8 * step: 1.0, 1.0, 1.0, 2.0, 4.0 s; thr = 9b / wall
    expected_thr = {1: 9.0, 2: 18.0, 4: 36.0, 8: 72 / 2.0, 16: 144 / 4.0}
    expected_eff = {1: 1.0, 2: 1.0, 4: 1.0, 8: 36 / (8 * 9), 16: 36 / (16 * 9)}  # 0.5, 0.25
    for b in steps:
        assert pts[b]["throughput"]["mean"] == pytest.approx(expected_thr[b])
        assert pts[b]["efficiency"] == pytest.approx(expected_eff[b])
    # decode at b=8: 8 * 8 tokens / (8 * 0.1875 = 1.5 s)
    assert pts[8]["decode_tps"]["mean"] == pytest.approx(64 / 1.5)
    # Knee (Kneedle in log2 b): x_norm = 0, .25, .5, .75, 1; y_norm = 0, 1/3, 1, 1, 1;
    # y_norm - x_norm is largest (0.5) at b = 4.
    assert batch_curve(recs)["knee_batch_size"] == 4


def test_no_batch_one_means_no_efficiency(simulate_batch):
    recs = simulate_batch(prefill=0.5, step=0.0625, lengths=[9, 9], batch_id=0, phase="batch")
    recs += simulate_batch(prefill=0.5, step=0.0625, lengths=[9] * 4, batch_id=1, phase="batch")
    curve = batch_curve(recs)
    assert [p["efficiency"] for p in curve["points"]] == [None, None]
    assert curve["knee_batch_size"] is None  # fewer than 3 points


def test_failed_batch_size_keeps_its_point_without_numbers(simulate_batch):
    recs = simulate_batch(prefill=0.5, step=0.0625, lengths=[9], batch_id=0, phase="batch")
    recs += simulate_batch(prefill=0.5, step=0.0625, lengths=[0, 0], batch_id=1, phase="batch")
    pts = _points(batch_curve(recs))
    assert pts[1]["efficiency"] == pytest.approx(1.0)
    assert pts[2] == {"batch_size": 2, "efficiency": None, "throughput": None, "decode_tps": None}


def test_empty_input():
    assert batch_curve([]) is None
