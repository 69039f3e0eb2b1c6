"""One run's lifecycle outside the worker: its folder, its registration, and its report.

:func:`start_run` makes the run folder (registered in the results database as "running") and the
worker's payload; whoever runs ``scenarios.run.measure(payload)`` (here, an executor, a sweep point)
then calls :func:`finish_run`, which computes the metrics from the records and writes the report.
"""

from __future__ import annotations

import datetime as _dt
import re
import secrets
from pathlib import Path
from typing import Any

from infermeter.config import RunConfig
from infermeter.core.gpu_state import drift_warnings
from infermeter.core.records import RECORDS_FILE, REPORT_FILE, read_records
from infermeter.metrics import speed_of_light
from infermeter.metrics.compute import compute, warnings
from infermeter.results import recording
from infermeter.results.schema import SCHEMA_VERSION, Report, write_json
from infermeter.scenarios.context_fit import check_fit
from infermeter.workloads.base import load_items

INTERRUPTED = "interrupted (SIGINT/SIGTERM): what finished is kept"


def _run_dir(cfg: RunConfig, label: str | None = None) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", label or cfg.label or Path(cfg.model.name).name)[:40]
    # The folder name is the run id in the results database: the random tail keeps it unique
    # across output folders and machines.
    base = Path(cfg.output) / f"{stamp}-{slug}-{secrets.token_hex(2)}"
    path, k = base, 1
    while path.exists():
        path, k = Path(f"{base}-{k}"), k + 1
    path.mkdir(parents=True)
    return path


def _report(cfg: RunConfig, result: dict[str, Any], run_dir: Path, status: str, error: str | None) -> Report:
    records = read_records(run_dir / RECORDS_FILE)
    weights = (result.get("load") or {}).get("weights_bytes", 0)
    metrics = compute(records, result.get("groups", []), weights)
    if metrics.get("response_cache") is not None and result.get("response_cache"):
        metrics["response_cache"]["store"] = result["response_cache"]  # entries, bytes, evictions, limits
    gpu = result.get("gpu_state") or {}  # snapshots at start and end (absent where none was taken)
    warn = warnings(metrics) + drift_warnings(gpu.get("start"), gpu.get("end"))
    sol, sol_warnings = speed_of_light.sections(result, records)  # roofline (MBU/MFU) and energy
    metrics.update(sol)
    warn += sol_warnings
    if cfg.measure.isolation == "inline":
        warn.insert(0, "isolation=inline: measured in the calling process (debugging mode, less trustworthy)")
    if cfg.measure.warmup == "none":
        warn.insert(0, "warmup=none: first-call costs are inside the measured numbers")
    workload = result.get("workload") or {}
    if workload.get("skipped"):
        warn.append(
            f"{workload['skipped']} bad dataset items skipped (workload.skip_bad); the first: "
            f"{workload['skipped_reasons'][0]}"
        )
    data = {
        "schema_version": SCHEMA_VERSION,
        "kind": "run",
        "status": status,
        "error": error,
        "run_dir": str(run_dir),
        "config": cfg.model_dump(),
        "environment": result.get("environment"),
        "load": result.get("load"),
        "first_call": result.get("first_call"),
        "groups": result.get("groups", []),
        "workload": workload or None,  # items measured, bad items skipped and why
        "metrics": metrics,
        "warnings": warn,
        "records": [r.to_dict() for r in records],
    }
    report = Report(data)
    write_json(report, run_dir / REPORT_FILE)
    recording.finish(data)
    return report


def start_run(cfg: RunConfig, progress: bool = True) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """A run's folder (registered in the results database), its worker payload and workload summary.

    Executors run ``measure(payload)`` wherever they place it, then :func:`finish_run`.
    """
    items = load_items(cfg.workload)  # bad input fails here, before a model is loaded
    check_fit(cfg, "run", items)  # so does a prompt longer than the model's context
    workload = items.summary()
    run_dir = _run_dir(cfg)
    recording.begin(run_dir, "run", cfg.model_dump())
    return run_dir, {"config": cfg.model_dump(), "run_dir": str(run_dir), "progress": progress}, workload


def finish_run(
    cfg: RunConfig, run_dir: Path, workload: dict[str, Any], result: dict[str, Any] | None, error: str | None
) -> Report:
    """Write the report of a run started with :func:`start_run` (failed when ``error``)."""
    if error is not None:
        return _report(cfg, {"workload": workload}, run_dir, "failed", error)
    return _report(cfg, {**(result or {}), "workload": workload}, run_dir, "complete", None)
