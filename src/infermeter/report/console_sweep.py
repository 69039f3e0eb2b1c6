"""Console rendering of a sweep report: points, per-knob effects, Pareto fronts, failed points.

The tables are the ones Markdown and HTML show (:func:`infermeter.report.export_sweep.sweep_tables`).
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from infermeter.report.export_sweep import sweep_tables


def render_sweep(data: dict[str, Any], console: Console | None = None) -> None:
    """Print every sweep table, then warnings, the report path and how to resume an unfinished sweep."""
    # Not a terminal (a log, CI): wide enough for the tables instead of rich's 80 columns.
    console = console or Console(width=None if sys.stdout.isatty() else 200)
    sweep = data.get("sweep") or {}
    model = ((data.get("config") or {}).get("model") or {}).get("name", "?")
    counts = ", ".join(f"{n} {s}" for s, n in sorted((sweep.get("counts") or {}).items()))
    console.print(
        f"[bold]infermeter sweep[/]: {escape(model)}, {sweep.get('design', '?')} design, {counts or 'no points'}"
    )
    for t in sweep_tables(data):
        rt = RichTable(
            title=escape(t.title), title_justify="left", caption=escape(t.note) or None, caption_justify="left"
        )
        for i, h in enumerate(t.headers):
            rt.add_column(escape(h), justify="right" if i < len(t.numeric) and t.numeric[i] else "left")
        for row in t.rows:
            rt.add_row(*(escape(str(c)) for c in row))
        console.print(rt)
    from infermeter.executors.view import sweep_lines

    for line in sweep_lines(sweep):  # executor, each task's node and GPUs, interference check
        console.print(escape(line))
    for w in data.get("warnings") or []:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    if data.get("run_dir"):
        console.print(f"report: {escape(str(data['run_dir']))}/report.json (points.csv beside it)")
        if data.get("status") != "complete" or any(
            p["status"] != "complete" and p.get("planned", True) and p["status"] != "failed"
            for p in sweep.get("points", [])
        ):
            console.print(f"resume with: infermeter sweep --resume {escape(str(data['run_dir']))}")
