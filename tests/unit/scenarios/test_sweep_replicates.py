"""Sweep replicates with hand-made points: seeded orders, CIs over replicates, effects, Pareto significance."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from infermeter.config import build_config
from infermeter.errors import InfermeterError
from infermeter.scenarios.sweep import Knob, plan
from infermeter.scenarios.sweep_analysis import analyze
from infermeter.scenarios.sweep_replicates import check_replicates, run_replicated, slots, summarize_entry
from infermeter.scenarios.sweep_stats import diff_ci, order, replicate_warnings


def test_orders_are_seeded_permutations_different_per_replicate_and_reproducible() -> None:
    ids = [f"p{i:02d}" for i in range(1, 9)]
    first = [order(ids, 7, r) for r in range(3)]
    assert all(sorted(o) == ids for o in first)  # every point once
    assert len({tuple(o) for o in first}) == 3  # each replicate its own order
    assert first == [order(ids, 7, r) for r in range(3)]  # reproducible from the seed
    assert order(ids, 8, 0) != first[0]  # another seed, another order
    assert order(ids, 7, 1) == first[1]  # replicate k's order does not depend on how many there are


def test_zero_or_negative_replicates_are_one_clear_error() -> None:
    for n in (0, -2):
        with pytest.raises(InfermeterError, match="--replicates must be at least 1"):
            check_replicates(n)


def _rep(k: int, tps: float | None, status: str = "complete") -> dict[str, Any]:
    return {"replicate": k, "status": status, "error": None if status == "complete" else "boom",
            "run_dir": f"/r{k}", "wall_s": 1.0, "metrics": {"decode_tps": tps, "peak_memory_view": "rss"}}  # fmt: skip


def test_a_point_is_the_mean_over_its_replicates_with_a_t_interval() -> None:
    e: dict[str, Any] = {"id": "p01", "replicates": [_rep(1, 10.0), _rep(2, 12.0), _rep(3, 14.0)]}
    summarize_entry(e, 3)
    s = e["replicate_stats"]["decode_tps"]
    assert e["status"] == "complete" and e["metrics"]["decode_tps"] == pytest.approx(12.0)
    assert s["n"] == 3 and s["values"] == [10.0, 12.0, 14.0]
    assert s["ci95_low"] == pytest.approx(12.0 - 4.302653 * 2.0 / 3**0.5, rel=1e-5)
    one: dict[str, Any] = {"id": "p02", "replicates": [_rep(1, 10.0), _rep(2, None, "pending")]}
    summarize_entry(one, 2)
    assert one["status"] == "pending" and one["replicate_stats"]["decode_tps"]["ci95_low"] is None  # n=1: no CI


def test_a_point_measured_once_before_becomes_replicate_one() -> None:
    e = {"id": "p01", "status": "complete", "run_dir": "/x", "metrics": {"decode_tps": 3.0}, "error": None}
    reps = slots(e, 3)
    assert [r["status"] for r in reps] == ["complete", "pending", "pending"]
    assert reps[0]["metrics"] == {"decode_tps": 3.0}


def test_welch_interval_of_a_difference() -> None:
    d, lo, hi = diff_ci([10.0, 11.0, 12.0], [1.0, 2.0, 3.0])  # type: ignore[misc]
    assert d == pytest.approx(9.0) and lo > 0
    assert diff_ci([1.0], [2.0, 3.0]) is None


def _point(pid: str, value: int, tps: list[float], mem: list[float]) -> dict[str, Any]:
    e: dict[str, Any] = {"id": pid, "label": f"b={value}", "knobs": {"workload.batch_size": value}, "planned": True,
                         "replicates": [{"replicate": k + 1, "status": "complete", "run_dir": None, "error": None,
                                         "metrics": {"decode_tps": t, "output_throughput": t,
                                                     "peak_memory_bytes": m}} for k, (t, m) in
                                        enumerate(zip(tps, mem, strict=True))]}  # fmt: skip
    summarize_entry(e, len(tps))
    return e


def test_effects_smaller_than_their_ci_are_not_distinguishable_and_weak_dominance_is_marked() -> None:
    points = [
        _point("p01", 1, [10.0, 10.2, 9.8], [100.0, 100.0, 100.0]),
        _point("p02", 2, [10.1, 9.7, 10.4], [100.0, 100.0, 100.0]),  # the same within noise
        _point("p03", 4, [30.0, 30.5, 29.5], [100.0, 100.0, 100.0]),  # clearly faster
    ]
    sweep = {"knobs": [{"key": "workload.batch_size", "values": [1, 2, 4], "baseline": 0}], "points": points,
             "replication": {"replicates": 3, "seed": 0, "orders": []}}  # fmt: skip
    analyze(sweep)
    rows = {r["point"]: r for r in sweep["effects"][0]["rows"]}
    assert "effect_ci" not in rows["p01"]  # the baseline
    assert rows["p02"]["effect_ci"]["decode_tps"]["distinguishable"] is False
    assert rows["p03"]["effect_ci"]["decode_tps"]["distinguishable"] is True
    front = sweep["pareto"]["memory_vs_throughput"]
    assert front["front"] == ["p03"]
    assert front["not_significant"] == []  # p03 beats both, significantly
    lines = replicate_warnings(sweep)
    assert any("not distinguishable" in w and "batch_size=2" in w for w in lines)
    # p02 vs p01 alone: p02 dominates on the means, but within the noise
    two = {"knobs": sweep["knobs"], "points": points[:2], "replication": sweep["replication"]}
    analyze(two)
    assert two["pareto"]["memory_vs_throughput"]["not_significant"] == ["p01"]


def test_run_replicated_visits_every_point_per_replicate_in_its_order(tmp_path: Path) -> None:
    base = build_config({"model": {"name": "tiny-qwen3"}})
    points = plan(base, [Knob("workload.batch_size", [1, 2])], "full")
    entries = [{"id": f"p{i + 1:02d}", "label": p.label, "knobs": p.knobs, "status": "pending", "error": None,
                "metrics": {}, "planned": True} for i, p in enumerate(points)]  # fmt: skip
    seen: list[tuple[str, int]] = []

    def fake_run(cfg: Any, progress: bool = False) -> Any:  # what api.run returns: a report with a path
        folder = Path(cfg.output)
        seen.append((folder.parent.name, cfg.workload.batch_size))
        run_dir = folder / "run"
        run_dir.mkdir(parents=True)
        data = {"metrics": {"decode_tps": {"mean": float(len(seen))}, "requests": {}}, "warnings": []}
        return SimpleNamespace(data=data, path=run_dir / "report.json")

    bar = SimpleNamespace(add_task=lambda *a, **k: 0, update=lambda *a, **k: None, advance=lambda *a, **k: None)
    section: dict[str, Any] = {}
    run_replicated(points, entries, tmp_path, bar, lambda: None, False, fake_run, 2, 5, section)
    orders = section["replication"]["orders"]
    assert section["replication"]["seed"] == 5 and orders == [order(["p01", "p02"], 5, r) for r in range(2)]
    assert [pid for pid, _ in seen] == orders[0] + orders[1]
    assert all(e["status"] == "complete" and e["replicate_stats"]["decode_tps"]["n"] == 2 for e in entries)
    assert (tmp_path / "points" / "p01" / "r2").is_dir()
    seen.clear()  # resume: nothing left to measure
    run_replicated(points, entries, tmp_path, bar, lambda: None, False, fake_run, 2, 5, section)
    assert seen == []
    run_replicated(points, entries, tmp_path, bar, lambda: None, False, fake_run, 3, 5, section)  # one more
    assert [pid for pid, _ in seen] == order(["p01", "p02"], 5, 2)
