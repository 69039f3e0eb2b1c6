"""Console tables of a load report beyond the points table: the SLO search, server metrics, client lag.

They are the same :class:`~infermeter.render.export.Table` objects the HTML and Markdown show."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

from infermeter.render.tables_load import load_extra_tables


def render_load_extras(report: dict[str, Any], con: Console) -> None:
    """Print each extra table with its note."""

    for t in load_extra_tables(report):
        rt = RichTable(title=t.title)
        for i, h in enumerate(t.headers):
            rt.add_column(h, justify="right" if i and (t.numeric[i] if i < len(t.numeric) else True) else "left")
        for row in t.rows:
            rt.add_row(*row)
        con.print(rt)
        if t.note:
            con.print(t.note, style="dim")
