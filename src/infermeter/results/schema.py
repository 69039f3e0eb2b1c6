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

from infermeter.core.redact import redact
from infermeter.results.kind_metrics import metrics_of
from infermeter.results.models import SCHEMA_VERSION, validate

__all__ = ["SCHEMA_VERSION", "Report", "write_json"]


@dataclass
class Report:
    """A finished (or partial) run report and where it was written."""

    data: dict[str, Any]
    path: Path | None = None

    @property
    def metrics(self) -> dict[str, Any]:
        """The metrics: a run's ``metrics`` section; per variant, configuration, point or profile for
        compare, soak, sweep and load (see :mod:`infermeter.results.kind_metrics`)."""

        return metrics_of(self.data)

    @property
    def typed(self) -> Any:
        """The report as its pydantic model (:mod:`infermeter.results.models`); one clear error if invalid."""
        return validate(self.data, str(self.path or "report"))

    @property
    def records(self) -> list[dict[str, Any]]:
        """Raw per-request records (a run's; other kinds keep theirs in ``records.jsonl``)."""
        return self.data.get("records") or []


def write_json(report: Report, path: Path) -> Path:
    """Write atomically (temp file + rename): a reader never sees half a report."""

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
