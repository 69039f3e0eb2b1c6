"""Several reports into one file or folder: a CSV with one header and a report column, PNG folders
named after their runs.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from infermeter.render.export import CSV_FIELDS, _cell, rows


def report_id(report: dict[str, Any]) -> str:
    """The run's id: its folder name (the id in the results database), else its kind."""
    run_dir = report.get("run_dir")
    return Path(run_dir).name if run_dir else str(report.get("kind") or "report")


def unique_names(reports: list[dict[str, Any]]) -> list[str]:
    """One file-system-safe name per report, after its run (``-2``, ``-3`` where two share one)."""
    out: list[str] = []
    for r in reports:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", report_id(r)) or "report"
        name, k = base, 2
        while name in out:
            name, k = f"{base}-{k}", k + 1
        out.append(name)
    return out


def reports_csv(reports: list[dict[str, Any]]) -> str:
    """Every report's numeric rows under one header, the first column (``report_id``) naming the report."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for name, report in zip(unique_names(reports), reports, strict=True):
        for row in rows(report):
            w.writerow({**{k: _cell(v) for k, v in row.items()}, "report_id": _cell(name)})
    return buf.getvalue()
