"""``Report.metrics`` for every kind of report: one dict of numbers a script can index.

A run's metrics are its ``metrics`` section. The other kinds measure several things, so their
metrics are keyed by what was measured: compare by variant, soak by configuration, sweep by point
label, load by profile point.
"""

from __future__ import annotations

from typing import Any


def metrics_of(data: dict[str, Any]) -> dict[str, Any]:
    """The report's metrics, keyed as the module docstring says; {} while nothing is measured yet."""
    kind = data.get("kind", "run")
    if "metrics" in data and kind == "run":
        return data["metrics"] or {}
    if kind == "compare":
        variants = (data.get("compare") or {}).get("variants") or {}
        return {name: v.get("summary") or {} for name, v in variants.items()}
    if kind == "soak":
        return {c["name"]: c for c in (data.get("soak") or {}).get("configurations") or []}
    if kind == "sweep":
        points = (data.get("sweep") or {}).get("points") or []
        return {p.get("label") or p["id"]: p.get("metrics") or {} for p in points}
    if kind == "load":
        return {p["profile"]: p for p in (data.get("load_run") or {}).get("points") or []}
    return data.get("metrics") or {}
