"""A sweep's ``points.csv``: one row per point, written beside its report at every checkpoint."""

from __future__ import annotations

import csv
import io
from typing import Any

from infermeter.scenarios.sweep import fmt_value as value
from infermeter.scenarios.sweep_analysis import METRICS


def csv_safe(v: Any) -> Any:
    """Neutralize spreadsheet formulas: a name such as ``=HYPERLINK(...)`` from a config stays text."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def points_csv(r: dict[str, Any]) -> str:
    """One row per point: id, label, status, every knob, every metric (unscaled units), run folder, error."""
    points = (r.get("sweep") or {}).get("points") or []
    keys = [k["key"] for k in (r.get("sweep") or {}).get("knobs") or []]
    fields = ["id", "label", "status", *keys, *METRICS, "peak_memory_view", "planned", "run_dir", "error"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for p in points:
        m = p.get("metrics") or {}
        row = {"id": p["id"], "label": p["label"], "status": p["status"], "planned": p.get("planned", True)}
        row.update({k: value(p["knobs"][k]) if k in p["knobs"] else "" for k in keys})
        row.update({k: m.get(k) for k in (*METRICS, "peak_memory_view")})
        row.update(run_dir=p.get("run_dir"), error=p.get("error"))
        w.writerow({k: csv_safe(v) for k, v in row.items()})
    return buf.getvalue()
