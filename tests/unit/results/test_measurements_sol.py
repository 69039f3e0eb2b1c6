"""Roofline and energy figures reach the results database under stable names, and diff knows their direction."""

from __future__ import annotations

from infermeter.metrics.registry import HIGHER, LOWER, NEUTRAL, direction
from infermeter.results.measurements import measurements_from_report


def test_roofline_and_energy_measurements():
    share = {"mean": 0.22, "ci95_low": 0.2, "ci95_high": 0.24, "above_limit": False}
    metrics = {
        "roofline": {
            "mbu": share,
            "mfu": None,
            "decode_bandwidth": {"n": 4, "mean": 9.4e11, "ci95_low": 9e11, "ci95_high": 9.8e11},
            "batches": [{"batch_size": 64, "mbu": share}],
        },
        "energy": {
            "available": True,
            "dataset": {"j_per_token": 2.5, "tokens_per_j": 0.4, "j_per_request": 320.0, "avg_w": 160.0},
            "peak_w": 210.0,
            "by_batch_size": [{"batch_size": 1, "j_per_token": 2.4}, {"batch_size": 64, "j_per_token": 0.09}],
        },
    }
    rows = {m["name"]: m for m in measurements_from_report({"kind": "run", "metrics": metrics, "records": []})}
    assert rows["roofline.mbu"]["value"] == 0.22 and rows["roofline.mbu"]["ci95_low"] == 0.2
    assert "roofline.mfu" not in rows
    assert rows["roofline.decode_bandwidth"]["n"] == 4 and rows["roofline.mbu@64"]["value"] == 0.22
    assert rows["energy.j_per_token"]["value"] == 2.5 and rows["energy.peak_w"]["unit"] == "W"
    assert rows["energy.j_per_token@64"]["value"] == 0.09
    assert direction("roofline.mbu") == HIGHER and direction("energy.tokens_per_j") == HIGHER
    assert direction("energy.j_per_token@64") == LOWER and direction("energy.avg_w") == NEUTRAL
