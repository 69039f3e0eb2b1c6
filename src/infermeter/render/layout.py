"""Console tables that stay readable at any width: a table when it fits, stacked lines when not.

A wide terminal gets the usual table. When the table's natural width is more than the terminal's
(80 columns, a notebook cell), each row becomes a heading line followed by its cells, one
``header  value`` per line, so no number or interval is wrapped mid-way or cut with "…". Every view
ends with the glossary footer: where the names are explained.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from infermeter.metrics.glossary import footer


def fits(console: Console, table: Table) -> bool:
    """True when ``table`` can be drawn at its natural width (no cell wrapped)."""
    wide = console.options.update(width=10_000, max_width=10_000)  # measure unclamped by the terminal
    return Measurement.get(console, wide, table).maximum <= console.width


def pack(parts: Sequence[str], width: int, indent: str) -> list[str]:
    """Greedy lines of whole parts (a part is never split unless it alone is wider than the line)."""
    lines, cur = [], ""
    for p in (x for x in parts if x):
        cand = f"{cur}  {p}" if cur else p
        if cur and len(indent) + len(cand) > width:
            lines.append(cur)
            cand = p
        cur = cand
    if cur:
        lines.append(cur)
    return [indent + line for line in lines]


def _plain(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else Text.from_markup(str(cell)).plain


def print_stacked(console: Console, title: str | None, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Each row: its first cell as a heading, then its values, each kept whole on one line.

    Two columns (metric, value): the value's parts under the heading. A few rows: one
    ``header  value`` line per cell. Many rows: ``header: value`` pairs packed into a few lines.
    """
    if title:
        console.print(Text(title, style="bold"))
    pad = max((len(h) for h in headers[1:]), default=0)
    for row in rows:
        console.print(Text(_plain(row[0]), style="bold"))
        cells = [(h, _plain(c)) for h, c in zip(headers[1:], row[1:], strict=False) if _plain(c) not in ("", "-")]
        if len(headers) == 2:
            lines = [line for _, v in cells for line in pack(v.split("  "), console.width, "  ")]
        elif len(rows) > 3:
            lines = pack([f"{h}: {v}" for h, v in cells], console.width, "  ")
        else:
            lines = []
            for h, v in cells:
                first = f"  {h:<{pad}}  "
                if len(first) + len(v) <= console.width:
                    lines.append(first + v)
                else:  # a long value: its parts (separated by two spaces) on indented lines of their own
                    lines += [f"  {h}", *pack(v.split("  "), console.width, "    ")]
        for line in lines:
            console.print(Text(line))


def table_or_stack(
    console: Console,
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    footer: str | None = None,
    numeric: Sequence[bool] = (),
) -> None:
    """Print ``rows`` as a table when it fits ``console``'s width, else stacked (module docstring)."""
    t = Table(title=title)
    for i, h in enumerate(headers):
        t.add_column(h, justify="right" if i < len(numeric) and numeric[i] else "left", no_wrap=True)
    for row in rows:
        t.add_row(*(c if isinstance(c, Text) else str(c) for c in row))
    if fits(console, t):
        console.print(t)
    else:
        print_stacked(console, title, headers, rows)
    if footer:
        console.print(Text(footer, style="dim"), soft_wrap=False, overflow="fold")


def glossary_footer() -> str:
    """The dim line under a view's tables."""

    return footer()
