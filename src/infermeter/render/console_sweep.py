"""Console rendering of a sweep report: points, per-knob effects, Pareto fronts, failed points.

The tables are the ones Markdown and HTML show (:func:`infermeter.render.export_sweep.sweep_tables`).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from infermeter.executors.view import sweep_lines
from infermeter.render.export_sweep import sweep_tables
from infermeter.render.layout import glossary_footer, table_or_stack


def render_sweep(data: dict[str, Any], console: Console | None = None) -> None:
    """Print every sweep table, then warnings, the report path and how to resume an unfinished sweep."""
    # Not a terminal (a log, CI): wide enough for the tables instead of rich's 80 columns.
    console = console or Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200)
    sweep = data.get("sweep") or {}
    model = ((data.get("config") or {}).get("model") or {}).get("name", "?")
    counts = ", ".join(f"{n} {s}" for s, n in sorted((sweep.get("counts") or {}).items()))
    console.print(
        f"[bold]infermeter sweep[/]: {escape(model)}, {sweep.get('design', '?')} design, {counts or 'no points'}"
    )
    for t in sweep_tables(data):  # each a table when it fits the terminal, else stacked per row
        rows = [[Text(str(c)) for c in row] for row in t.rows]
        table_or_stack(console, t.title, t.headers, rows, numeric=t.numeric, footer=t.note or None)
    console.print(glossary_footer(), style="dim")
    for line in sweep_lines(data.get("sweep") or {}):  # executor, each task's node and GPUs, interference check
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
