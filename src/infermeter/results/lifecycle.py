"""How a run ends, whatever ends it: a report rebuilt from ``records.jsonl`` alone, and who may be diffed.

Every command writes its records as they are measured, then report.json at the end. When the process
was killed before the end (SIGKILL, out of memory, power), only records.jsonl is left: :func:`rebuild`
turns it into a report (status "interrupted", saying so), from the lines that are whole. A run
report's metrics come from :func:`infermeter.metrics.compute.compute`, a load report's from
:func:`infermeter.scenarios.load_analysis.assemble`: the same functions that made the original.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infermeter.core.records import RECORDS_FILE, REPORT_FILE, read_records
from infermeter.errors import InfermeterError
from infermeter.metrics.compute import compute
from infermeter.results.schema import SCHEMA_VERSION, Report, write_json
from infermeter.scenarios.load_analysis import assemble
from infermeter.scenarios.load_profiles import LoadOptions

REBUILT = "the process ended without writing its report (killed?): rebuilt from records.jsonl"
COMPARABLE = ("complete", "partial")  # partial: a load run that finished with some failed requests


def rebuild(run_dir: Path) -> Path:
    """Write ``run_dir/report.json`` from ``run_dir/records.jsonl``; return its path."""

    records = read_records(run_dir / RECORDS_FILE)
    if not records:
        raise InfermeterError(f"{run_dir}: no report.json and no whole record in {RECORDS_FILE}: nothing to show")
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "status": "interrupted",
        "error": REBUILT,
        "run_dir": str(run_dir),
        "config": None,
        "environment": None,
        "load": None,
        "warnings": [f"{REBUILT} ({len(records)} records)"],
    }
    if any("profile" in r.extra for r in records):
        data.update(kind="load", load_run=_load_run(records))
    else:
        data.update(kind="run", first_call=None, groups=[], workload=None, metrics=compute(records, [], 0))
        data["records"] = [r.to_dict() for r in records]
    report = Report(data)
    write_json(report, run_dir / REPORT_FILE)
    return run_dir / REPORT_FILE


def _load_run(records: list[Any]) -> dict[str, Any]:

    profile = str(records[0].extra.get("profile", "synchronous"))
    opts = LoadOptions(profile=profile if ":" in profile or profile == "synchronous" else "synchronous")
    out = assemble(records, opts, {"stopped": REBUILT})
    out["records_file"] = "records.jsonl"
    return out


def check_comparable(run: dict[str, Any]) -> None:
    """Refuse to diff a run that did not finish: a failed candidate must not pass a regression gate."""
    status = run.get("status")
    if status not in COMPARABLE:
        raise InfermeterError(
            f"run {run.get('run_id')} is {status or 'of unknown status'}, not complete: diff compares finished runs"
        )


def all_failed(report: dict[str, Any]) -> str | None:
    """Why a run report measured nothing (every request failed), or None."""
    errors = [r.get("error") for r in report.get("records") or [] if r.get("phase") == "dataset"]
    if not errors or any(e is None for e in errors):
        return None
    top = max(set(errors), key=errors.count)
    return f"every request failed ({len(errors)} of {len(errors)}; the most common reason: {top})"
