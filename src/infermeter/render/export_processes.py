"""Views of a run measured in several processes (``run --processes N``): the between-process table.

One :class:`Table` (console, Markdown, HTML) and its CSV rows, from the report's ``processes``
section (metrics/processes.py): per metric the mean over processes with its CI over processes
(unit = process, n = N), the within-process CI half-width beside the between-process one, their
ratio, and how often one process's CI held the other processes' means.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from infermeter.metrics import registry
from infermeter.render.ab_view import log_ci
from infermeter.render.layout import table_or_stack
from infermeter.render.tables import Table, gib, ms, num


def _fmt(key: str) -> tuple[Any, str]:
    unit = registry.unit(key)
    if unit == "s":
        return ms, "ms"
    if unit == "bytes":
        return gib, "GiB"
    return num, unit


def _row(key: str, d: dict[str, Any]) -> list[str]:
    f, unit = _fmt(key)
    b = d["between"]
    ci = " (no CI: 1 process)"
    if b.get("ci95_low") is not None:  # positive numbers: the log-scale interval, never below zero (as run shows)
        lo, hi = log_ci(b) or (b["ci95_low"], b["ci95_high"])
        ci = f" [{f(lo)}, {f(hi)}]"
    held = f"{d['covered']}/{d['checked']}" if d.get("checked") else "-"
    ratio = "-" if d.get("spread_ratio") is None else f"{d['spread_ratio']:.2g}x"
    per = ", ".join("-" if v is None else f(v) for v in d["per_process"])
    return [
        f"{registry.label(key)} ({unit})" if unit else registry.label(key),
        f"{f(b['mean'])}{ci}",
        f"{f(d.get('between_halfwidth'))} / {f(d.get('within_halfwidth'))}",
        ratio,
        held,
        per,
    ]


HEADERS = [
    "metric",
    "mean over processes [95% CI]",
    "CI half-width: between / within",
    "spread / within CI",
    "within CIs holding other processes' means",
    "per process",
]


def process_table(r: dict[str, Any]) -> Table | None:
    """The between-process table of a run report (None: measured in one process)."""
    sec = r.get("processes")
    if not sec:
        return None
    rows = [_row(k, d) for k, d in sec["metrics"].items()]
    note = (
        f"{sec['n']} fresh processes; the between-process CI is over processes (n = {sec['n']}), the within-process "
        "half-width is the mean of each process's own CI (over its batches or passes); spread / within CI = stdev "
        "of the process means / within half-width (above 1: the within-process CIs understate)"
    )
    return Table(
        "processes", "between processes (unit: process)", HEADERS, rows, note=note, numeric=[False] + [True] * 5
    )


def process_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """CSV rows: ``processes`` section, one per metric, statistics over processes."""
    sec = r.get("processes") or {}
    out = []
    for key, d in (sec.get("metrics") or {}).items():
        b = d["between"]
        row = {k: b.get(k) for k in ("n", "mean", "median", "p90", "p95", "p99", "ci95_low", "ci95_high")}
        out.append({"section": "processes", "name": key, "unit": registry.unit(key), **row})
    return out


def render_processes(data: dict[str, Any], console: Console) -> None:
    """Print the between-process table when the run has one."""
    t = process_table(data)
    if t is not None:
        table_or_stack(console, t.title, t.headers, t.rows, footer=t.note, numeric=t.numeric)
