"""What ``infermeter diff`` compares: a result folder or a results-database run id, per side.

A side is loaded from ``DIR/report.json`` (or that file itself) when the argument is a path, else from
the results database. Two sides are comparable when they are of the same kind (run, compare, soak,
sweep, load) and measured the same workload (the same items or prompt shapes): a different model,
backend or code version is what a diff is for, a different workload is a different measurement.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.results.lifecycle import check_comparable as check_finished
from infermeter.results.measurements import measurements_from_report


@dataclass(frozen=True)
class Side:
    """One side of a diff."""

    label: str  # the run id or the folder
    kind: str
    config: dict[str, Any] | None
    measurements: dict[str, dict[str, Any]]
    status: str | None = None


def _report_file(arg: str) -> Path | None:
    p = Path(arg)
    if p.is_dir():
        return p / "report.json" if (p / "report.json").is_file() else None
    return p if p.is_file() and p.suffix == ".json" else None


def load_side(arg: str, store: Callable[[], Any]) -> Side:
    """The side named by ``arg``: a result folder / report.json, else a run id in ``store()``."""

    path = _report_file(arg)
    if path is None and Path(arg).is_dir():
        raise InfermeterError(f"{arg} has no report.json (an unfinished run?): nothing to diff")
    if path is not None:
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InfermeterError(f"cannot read {path}: {e}") from None
        meas = {m["name"]: m for m in measurements_from_report(report)}
        return Side(str(path.parent), report.get("kind", "run"), report.get("config"), meas, report.get("status"))
    s = store()
    run = s.get_run(arg)
    return Side(run["run_id"], run["kind"], run.get("config"), s.measurements(run["run_id"]), run.get("status"))


def check_comparable(a: Side, b: Side) -> None:
    """InfermeterError (one line) when the two sides do not measure the same thing, or one did not finish
    (a failed candidate must not pass a regression gate)."""
    for side in (a, b):
        check_finished({"run_id": side.label, "status": side.status})
    if a.kind != b.kind:
        raise InfermeterError(f"cannot diff a {a.kind} report against a {b.kind} report ({a.label} vs {b.label})")
    wa, wb = (a.config or {}).get("workload"), (b.config or {}).get("workload")
    if wa is not None and wb is not None and wa != wb:
        keys = sorted(k for k in set(wa) | set(wb) if wa.get(k) != wb.get(k))
        raise InfermeterError(
            f"cannot diff runs of different workloads (workload.{', workload.'.join(keys)} differ): "
            "a diff compares the same measurement"
        )


def config_changes(a: Side, b: Side) -> list[str]:
    """Top-level config keys (section.key) whose values differ: said above the table, not refused."""
    ca, cb = a.config or {}, b.config or {}
    out = []
    for sec in sorted(set(ca) | set(cb)):
        va, vb = ca.get(sec), cb.get(sec)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += [f"{sec}.{k}" for k in sorted(set(va) | set(vb)) if va.get(k) != vb.get(k)]
        elif va != vb:
            out.append(sec)
    return out
