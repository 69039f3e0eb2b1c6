"""Sweep points as executor tasks: every pending point submitted at once, recorded as it returns.

Each point is what ``infermeter run`` measures (``scenarios.run.measure`` in a fresh worker), with its
run folder under the sweep's ``points/<id>/``. The driver registers the run, receives the worker's
records and result, writes the run report and the results database, and checkpoints the sweep
report after every point, so ``--resume`` behaves as in a sequential sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from infermeter.api.runs import finish_run, start_run
from infermeter.errors import InfermeterError
from infermeter.executors.base import Executor, Outcome, Task, gpus_for
from infermeter.executors.deliver import deliver
from infermeter.executors.interference import assess
from infermeter.scenarios.run import measure
from infermeter.scenarios.sweep_analysis import point_metrics


def _start(point: Any, entry: dict[str, Any], folder: Path) -> tuple[Task, tuple[Any, ...]] | None:
    """Register the point's run and build its task (None: the point failed before measuring)."""

    if point.config is None:
        entry.update(status="failed", error=point.error)
        return None
    cfg = point.config.model_copy(update={"output": str(folder)})
    try:
        run_dir, payload, workload = start_run(cfg, progress=False)
    except InfermeterError as err:
        entry.update(status="failed", error=str(err))
        return None
    entry.update(status="running", error=None, placement=None)
    return Task(entry["id"], measure, payload, gpus_for(cfg.model_dump())), (cfg, run_dir, workload)


def _record(out: Outcome, entry: dict[str, Any], cfg: Any, run_dir: Path, workload: dict[str, Any]) -> None:
    """Write the returned point's run (report, records, database) and its sweep entry."""

    deliver(out, run_dir)
    entry.update(placement=out.placement, wall_s=out.placement.get("task_s"), run_dir=str(run_dir))
    if out.status == "complete":
        report = finish_run(cfg, run_dir, workload, out.value, None)
        entry.update(status="complete", error=None, metrics=point_metrics(report.data))
        entry["warnings"] = report.data.get("warnings") or []
    else:
        finish_run(cfg, run_dir, workload, None, out.error)
        entry.update(status="lost" if out.status == "lost" else "failed", error=out.error)


def measure_points(
    pairs: list[tuple[Any, dict[str, Any]]],
    sweep_dir: Path,
    executor: Executor,
    checkpoint: Callable[[], None],
    advance: Callable[[], None],
    points_dir: str = "points",
    interference: dict[str, Any] | None = None,
) -> None:
    """Measure every (point, entry) pair on ``executor``; ``checkpoint()`` after each returns.

    ``interference``: fill this dict with the interference check (the first point alone first, see
    :mod:`infermeter.executors.interference`).
    """
    executor.check([gpus_for(p.config.model_dump()) for p, _ in pairs if p.config is not None])  # before any run starts
    if interference is not None:
        _alone_first(pairs, sweep_dir / points_dir, executor, interference)
        checkpoint()
    tasks, runs = [], {}
    for point, entry in pairs:
        started = _start(point, entry, sweep_dir / points_dir / entry["id"])
        if started is None:
            advance()
            continue
        tasks.append(started[0])
        runs[entry["id"]] = (entry, *started[1])
    checkpoint()
    try:
        with closing(executor.run(tasks)) as outcomes:
            for out in outcomes:
                _record(out, *runs.pop(out.key))
                checkpoint()
                advance()
        if interference is not None:
            _assess(pairs, interference)
    except BaseException:  # interrupted or refused: the points not back yet are not lost, --resume runs them
        for entry, cfg, run_dir, workload in runs.values():
            entry.update(status="interrupted", error="interrupted before this point returned")
            finish_run(cfg, run_dir, workload, None, entry["error"])  # its run is closed, not left "running"
        raise


def _alone_first(
    pairs: list[tuple[Any, dict[str, Any]]], folder: Path, executor: Executor, out: dict[str, Any]
) -> None:
    """Measure the first valid point alone, nothing else running, as ``<id>-alone``."""
    first = next(((p, e) for p, e in pairs if p.config is not None), None)
    if first is None or len(pairs) < 2:
        out["lines"] = ["interference check skipped: it needs at least two points to measure"]
        return
    point, entry = first
    alone: dict[str, Any] = {"id": f"{entry['id']}-alone", "of": entry["id"], "status": "pending"}
    started = _start(point, alone, folder / alone["id"])
    if started is not None:
        with closing(executor.run([started[0]])) as outcomes:
            for o in outcomes:
                _record(o, alone, *started[1])
    out.update(alone=alone, point=entry["id"])


def _assess(pairs: list[tuple[Any, dict[str, Any]]], out: dict[str, Any]) -> None:
    """Compare the point measured alone with the same point measured alongside the others."""
    import json

    alone = out.get("alone") or {}
    along = next((e for _, e in pairs if e["id"] == out.get("point")), None)
    if alone.get("status") != "complete" or along is None or along["status"] != "complete":
        out["lines"] = ["interference check incomplete: the point did not complete both alone and alongside"]
        return
    read = lambda e: json.loads((Path(e["run_dir"]) / "report.json").read_text(encoding="utf-8"))  # noqa: E731
    out.update(assess(read(alone), read(along), along["id"]))
