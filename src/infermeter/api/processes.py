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

from typing import Any

from infermeter import api as _api  # the package itself: run folders and reports (same layer)
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


def run_processes(cfg: RunConfig, n: int, progress: bool = True) -> Report:
    """Measure ``cfg`` in ``n`` fresh processes and return the run report with its ``processes`` section.

    A process that fails stops the measurement (its error propagates); the processes measured before
    it keep their own reports under ``<run>/processes/``.
    """
    check_processes(n, cfg)
    parent = _api._run_dir(cfg)
    sub = cfg.model_copy(update={"output": str(parent / PROCESSES_DIR)})
    reports = [_api.run(sub, progress=progress).data for _ in range(n)]
    data: dict[str, Any] = {**reports[0], "run_dir": str(parent)}
    data["processes"] = across_processes(reports)
    data["warnings"] = list(reports[0].get("warnings") or []) + process_warnings(data["processes"])
    report = Report(data)
    write_json(report, parent / "report.json")
    recording.begin(parent, "run", cfg.model_dump(), data.get("environment"))
    recording.finish(data)
    return report
