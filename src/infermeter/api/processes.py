"""``run --processes N``: the same measurement in N fresh worker processes, the process as the unit.

Each process is a full :func:`infermeter.api.run` (its own worker, run folder under
``<run>/processes/``, report and results-database entry), one after the other so they never share
the device. The run's own report is the first process's (its metrics, records and within-process
CIs, so every view of a run still reads it) plus a ``processes`` section: per metric, every
process's value and the between-process summary whose CI is over processes (n = N), beside the
within-process CI (metrics/processes.py). The results database stores those as
``processes.<metric>``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from infermeter.api.runs import INTERRUPTED, _run_dir
from infermeter.config import RunConfig
from infermeter.errors import InfermeterError
from infermeter.metrics.checks import process_warnings
from infermeter.metrics.processes import across_processes
from infermeter.results import recording
from infermeter.results.schema import Report, write_json

PROCESSES_DIR = "processes"


def check_processes(n: int, cfg: RunConfig) -> None:
    """One clear line for a process count that cannot be measured."""
    if n < 1:
        raise InfermeterError(f"--processes must be at least 1, got {n}")
    if n > 1 and cfg.measure.isolation == "inline":
        raise InfermeterError("--processes measures in fresh worker processes: drop --inline")


def run_processes(cfg: RunConfig, n: int, progress: bool, run: Callable[..., Report]) -> Report:
    """Measure ``cfg`` in ``n`` fresh processes and return the run report with its ``processes`` section.

    A process that fails or is interrupted stops the measurement and its error propagates; the run's
    report is still written, marked so, from the processes measured before it (each keeps its own
    report under ``<run>/processes/``). ``run`` is :func:`infermeter.api.run`, handed in (it calls here).
    """
    check_processes(n, cfg)
    parent = _run_dir(cfg)
    sub = cfg.model_copy(update={"output": str(parent / PROCESSES_DIR)})
    reports: list[dict[str, Any]] = []
    try:
        for _ in range(n):
            reports.append(run(sub, progress=progress).data)
    except InfermeterError as err:
        _write(cfg, parent, reports, n, "failed", f"process {len(reports) + 1} of {n}: {err}")
        raise
    except KeyboardInterrupt:
        _write(cfg, parent, reports, n, "interrupted", INTERRUPTED)
        raise
    return _write(cfg, parent, reports, n, "complete", None)


def _write(
    cfg: RunConfig, parent: Path, reports: list[dict[str, Any]], n: int, status: str, error: str | None
) -> Report:
    """The run's report: the first process's, its ``processes`` section over every process measured."""
    if not reports:  # not one process measured: nothing to report beyond the process's own failed report
        return Report({})
    data: dict[str, Any] = {**reports[0], "run_dir": str(parent), "status": status, "error": error}
    data["processes"] = {**across_processes(reports), "planned": n}
    data["warnings"] = list(reports[0].get("warnings") or []) + process_warnings(data["processes"])
    report = Report(data)
    write_json(report, parent / "report.json")
    recording.begin(parent, "run", cfg.model_dump(), data.get("environment"))
    recording.finish(data)
    return report
