"""Running a sweep with replicates (``sweep --replicates N``): every point measured N times.

Replicate k (1-based in folders and reports) measures every point once, each a full run in its own
worker process, in the order :func:`infermeter.scenarios.sweep_stats.order` draws for it from the
sweep's seed; replicate k+1 starts when k has visited every point. The orders are recorded in the
report (``sweep.replication``), each replicate's run in its point's ``replicates`` list (folder
``points/<id>/r<k>/``), and the point's ``metrics`` are the means over its completed replicates with
``replicate_stats`` (CI over replicates) beside them. ``--resume`` measures the replicates not
complete yet; the orders are recomputed from the seed, so they are the same as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.scenarios.sweep import Point, RunPoint, measure_point
from infermeter.scenarios.sweep_analysis import METRICS
from infermeter.scenarios.sweep_stats import order, summary

_FIELDS = ("status", "error", "run_dir", "wall_s", "metrics", "warnings")


def check_replicates(n: int) -> None:
    """One clear line for a replicate count that cannot be measured."""
    if n < 1:
        raise InfermeterError(f"--replicates must be at least 1, got {n}")


def slots(entry: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """The point's ``n`` replicate records; a point measured once before (no replicates) is replicate 1."""
    reps = entry.get("replicates")
    if reps is None:
        first = {k: entry.get(k) for k in _FIELDS} if entry.get("status") == "complete" else {"status": "pending"}
        reps = [{"replicate": 1, **first}]
    for k in range(len(reps), n):
        reps.append({"replicate": k + 1, "status": "pending", "error": None, "run_dir": None, "metrics": {}})
    entry["replicates"] = reps
    return reps


def _status(reps: list[dict[str, Any]]) -> str:
    states = {r["status"] for r in reps}
    for s in ("running", "interrupted", "lost"):
        if s in states:
            return s
    if "pending" in states:
        return "pending"
    return "failed" if "failed" in states else "complete"


def summarize_entry(entry: dict[str, Any], n: int) -> None:
    """The point's status, metrics (means over completed replicates) and ``replicate_stats`` (in place)."""
    reps = entry["replicates"][:n]
    done = [r for r in reps if r["status"] == "complete"]
    entry["status"] = _status(reps)
    failed = next((r for r in reps if r["status"] == "failed"), None)
    entry["error"] = f"replicate {failed['replicate']}: {failed['error']}" if failed else None
    entry["run_dir"] = done[0]["run_dir"] if done else None
    entry["wall_s"] = sum(r.get("wall_s") or 0.0 for r in reps) or None
    entry["warnings"] = [f"r{r['replicate']}: {w}" for r in done for w in r.get("warnings") or []]
    metrics: dict[str, Any] = dict(done[0]["metrics"]) if done else {}  # views and shapes: the first's
    stats: dict[str, Any] = {}
    for key in METRICS:
        vals = [float(v) for r in done if (v := (r.get("metrics") or {}).get(key)) is not None]
        s = summary(vals)
        if s is not None:
            stats[key] = s
            metrics[key] = s["mean"]
    entry["metrics"], entry["replicate_stats"] = metrics, stats


def _done(rep: dict[str, Any], retry_failed: bool) -> bool:
    return rep["status"] == "complete" or (rep["status"] == "failed" and not retry_failed)


def run_replicated(
    points: list[Point],
    entries: list[dict[str, Any]],
    sweep_dir: Path,
    bar: Any,
    checkpoint: Any,
    retry_failed: bool,
    run: RunPoint,
    replicates: int,
    seed: int,
    section: dict[str, Any],
) -> None:
    """Measure every replicate of every point not measured yet, replicate by replicate, each in its order.

    ``section``: the sweep report's section; ``replication`` (count, seed, orders) is written there
    before anything is measured.
    """
    ids = [e["id"] for e in entries]
    orders = [order(ids, seed, r) for r in range(replicates)]
    section["replication"] = {"replicates": replicates, "seed": seed, "unit": "replicate", "orders": orders}
    pairs = {e["id"]: (p, e) for p, e in zip(points, entries, strict=True)}
    for e in entries:
        slots(e, replicates)
        summarize_entry(e, replicates)
    task = bar.add_task("sweep replicates", total=len(ids) * replicates)
    for r, ids_r in enumerate(orders):
        for pos, pid in enumerate(ids_r):
            point, entry = pairs[pid]
            rep = entry["replicates"][r]
            if not _done(rep, retry_failed):
                bar.update(task, description=f"r{r + 1} {pid} {point.label}"[:28])
                rep.update(position=pos, id=f"{pid}/r{r + 1}")
                try:
                    measure_point(point, rep, sweep_dir, checkpoint, run)
                finally:  # an interrupted replicate is recorded as such before the sweep report is written
                    summarize_entry(entry, replicates)
                checkpoint()
            bar.advance(task)
    bar.update(task, description="sweep replicates")
