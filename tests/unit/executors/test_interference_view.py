"""The interference check's statistics and the placement lines of a sweep report."""

from __future__ import annotations

import pytest

from infermeter.executors.interference import assess, welch
from infermeter.executors.view import sweep_lines


def _summary(mean: float, stdev: float, n: int) -> dict:
    return {"mean": mean, "stdev": stdev, "n": n}


def test_a_clear_slowdown_has_a_ci_below_zero_and_noise_has_one_across_zero() -> None:
    slow = welch(_summary(100.0, 1.0, 8), _summary(80.0, 1.0, 8))
    assert slow["relative"] == pytest.approx(-0.2)
    assert slow["ci95_high"] < 0
    same = welch(_summary(100.0, 10.0, 4), _summary(101.0, 10.0, 4))
    assert same["ci95_low"] < 0 < same["ci95_high"]
    assert welch(_summary(100.0, 1.0, 1), _summary(90.0, 1.0, 8)) is None  # one call: no CI


def test_assess_names_each_metric_and_says_what_it_found() -> None:
    alone = {"metrics": {"decode_tps": _summary(100.0, 1.0, 8), "ttft_s": _summary(0.05, 0.001, 8)}}
    along = {"metrics": {"decode_tps": _summary(80.0, 1.0, 8), "ttft_s": _summary(0.05, 0.001, 1)}}
    out = assess(alone, along, "p01")
    assert out["point"] == "p01"
    assert "changed by the concurrent tasks" in out["lines"][0] and out["lines"][0].startswith("decode tok/s")
    assert "too few calls" in out["lines"][1]


def test_sweep_lines_state_executor_placement_and_interference() -> None:
    sweep = {
        "executor": {"name": "local", "mode": "concurrent", "devices": [0, 1]},
        "points": [
            {"id": "p01", "label": "batch_size=1", "placement": {"node": "h", "gpu_ids": [0], "attempts": 1}},
            {
                "id": "p02",
                "label": "batch_size=8",
                "placement": {"node": "h", "gpu_ids": [1], "attempts": 2, "lost": ["WorkerCrashedError: died"]},
            },
        ],  # fmt: skip
        "interference": {"point": "p01", "lines": ["decode tok/s alongside vs alone: +0.1% ..."]},
    }
    lines = sweep_lines(sweep)
    assert lines[0] == "executor: local, tasks at once over devices 0,1"
    assert lines[1] == "p01 (batch_size=1): node h, GPUs 0, attempt 1"
    assert "attempt 2, earlier attempts lost: WorkerCrashedError: died" in lines[2]
    assert lines[3].startswith("interference (p01): decode tok/s")
    assert sweep_lines({"points": []}) == []
