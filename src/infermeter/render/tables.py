"""Tables of display strings, the cell formats they use, and their Markdown form.

Every view (console, Markdown, HTML) builds the same :class:`Table` objects.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    """A titled table of display strings; ``name`` is stable (HTML ids, tests)."""

    name: str
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""
    numeric: list[bool] = field(default_factory=list)  # right-align these columns


# -- formatting ------------------------------------------------------------------------------------
def ms(v: float | None) -> str:
    """Seconds as milliseconds, or '-'."""
    return "-" if v is None else f"{1000 * v:.1f}"


def num(v: float | None, digits: int = 1) -> str:
    """A number with fixed decimals, or '-'."""
    return "-" if v is None else f"{v:.{digits}f}"


def gib(b: int | None) -> str:
    """Bytes as GiB, or '-'."""
    return "-" if b is None else f"{b / 2**30:.2f}"


def md_escape(text: Any) -> str:
    """A Markdown table cell: HTML-escaped (renderers pass raw HTML through), pipes and newlines neutralized."""
    s = html.escape(str(text), quote=False)
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def md_table(t: Table) -> list[str]:
    lines = [f"### {md_escape(t.title)}", "", "| " + " | ".join(md_escape(h) for h in t.headers) + " |"]
    aligns = [t.numeric[i] if i < len(t.numeric) else False for i in range(len(t.headers))]
    lines.append("|" + "|".join("---:" if a else "---" for a in aligns) + "|")
    lines += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in t.rows]
    return lines + ([] if not t.note else ["", md_escape(t.note)]) + [""]
