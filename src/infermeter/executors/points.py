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

from infermeter.errors import InfermeterError
from infermeter.executors.base import Executor, Outcome, Task, gpus_for
from infermeter.executors.deliver import deliver


def _start(point: Any, entry: dict[str, Any], folder: Path) -> tuple[Task, tuple[Any, ...]] | None:
    """Register the point's run and build its task (None: the point failed before measuring)."""
    from infermeter.api import start_run
    from infermeter.scenarios.run import measure

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
    from infermeter.api import finish_run
    from infermeter.scenarios.sweep_analysis import point_metrics

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
) -> None:
    """Measure every (point, entry) pair on ``executor``; ``checkpoint()`` after each returns."""
    executor.check([gpus_for(p.config.model_dump()) for p, _ in pairs if p.config is not None])  # before any run starts
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
    except BaseException:  # interrupted or refused: the points not back yet are not lost, --resume runs them
        for entry, *_ in runs.values():
            entry.update(status="interrupted", error="interrupted before this point returned")
        raise
