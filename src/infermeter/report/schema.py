"""The versioned JSON report.

A report is a plain JSON document: schema version, kind, status, config, environment, load facts,
warm-up/first-call timings, metrics, warnings, and the raw per-request records (so every metric can
be recomputed). Bump ``SCHEMA_VERSION`` when a field changes meaning.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
REPORT_FILE = "report.json"


@dataclass
class Report:
    """A finished (or partial) run report and where it was written."""

    data: dict[str, Any]
    path: Path | None = None

    @property
    def metrics(self) -> dict[str, Any]:
        """The metrics section."""
        return self.data["metrics"]

    @property
    def records(self) -> list[dict[str, Any]]:
        """Raw per-request records."""
        return self.data["records"]


def write_json(report: Report, path: Path) -> Path:
    """Write atomically (temp file + rename): a reader never sees half a report."""
    from infermeter.core.redact import redact

    tmp = path.with_suffix(".tmp")
    text = json.dumps(report.data, indent=1, default=str)
    masked = redact(text)  # the last gate before disk: no credential is ever written
    if masked != text:
        report.data.clear()  # in place: callers hold references to report.data
        report.data.update(json.loads(masked))
    tmp.write_text(masked, encoding="utf-8")
    os.replace(tmp, path)
    report.path = path
    return path


def read_json(path: Path) -> Report:
    """Load a report written by :func:`write_json`."""
    return Report(json.loads(Path(path).read_text(encoding="utf-8")), Path(path))
