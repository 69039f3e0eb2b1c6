"""Report formats: each is one registered writer, and ``infermeter report --<name> TARGET`` finds it.

A format is a function ``(reports, target) -> message`` registered with :func:`register_format`.
``target`` is a file path, a folder (for formats that write several files) or ``-`` for stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infermeter.render.export import to_markdown, write_pngs
from infermeter.render.html import render_html
from infermeter.render.multi import reports_csv, unique_names
from infermeter.render.side_by_side import side_by_side
from infermeter.render.tables import md_table

Writer = Callable[[list[dict[str, Any]], str, dict[str, Any]], str]


@dataclass(frozen=True)
class Format:
    """A registered report format."""

    name: str  # the flag: --<name>
    metavar: str  # FILE or DIR
    help: str
    write: Writer


_FORMATS: dict[str, Format] = {}


def register_format(name: str, metavar: str, help: str) -> Callable[[Writer], Writer]:  # noqa: A002
    """Decorator: make ``writer`` available as ``infermeter report --<name> TARGET``."""

    def deco(fn: Writer) -> Writer:
        _FORMATS[name] = Format(name, metavar, help, fn)
        return fn

    return deco


def formats() -> list[Format]:
    """Every registered format, in registration order."""
    return list(_FORMATS.values())


def get_format(name: str) -> Format:
    """The format registered as ``name``."""
    return _FORMATS[name]


def write_text(target: str, text: str) -> str:
    """Write ``text`` to a file or stdout ('-'); returns what was done."""
    if target == "-":
        sys.stdout.write(text)
        return ""
    Path(target).write_text(text, encoding="utf-8")
    return f"wrote {target}"


@register_format("html", "FILE", "write one self-contained HTML page (opens offline)")
def _html(reports: list[dict[str, Any]], target: str, opts: dict[str, Any]) -> str:
    return write_text(target, render_html(reports))


@register_format("png", "DIR", "write every plot as a PNG into DIR")
def _png(reports: list[dict[str, Any]], target: str, opts: dict[str, Any]) -> str:
    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, r in zip(unique_names(reports), reports, strict=True):  # a folder per run, named after it
        paths += write_pngs(r, out / name if len(reports) > 1 else out)
    return f"wrote {len(paths)} PNG files to {out}"


@register_format("csv", "FILE", "write the summary metrics as CSV ('-' for stdout)")
def _csv(reports: list[dict[str, Any]], target: str, opts: dict[str, Any]) -> str:
    return write_text(target, reports_csv(reports))  # one header; the first column names the report


@register_format("md", "FILE", "write the summary as Markdown ('-' for stdout)")
def _md(reports: list[dict[str, Any]], target: str, opts: dict[str, Any]) -> str:
    return write_text(target, "\n\n".join(to_markdown(r) for r in reports))


@register_format(
    "table",
    "FILE",
    "one side-by-side Markdown table of run and load reports, e.g. the same workload in-process and over HTTP "
    "('-' for stdout; --labels names the columns)",
)
def _table(reports: list[dict[str, Any]], target: str, opts: dict[str, Any]) -> str:
    labels = opts.get("labels")
    return write_text(target, "\n".join(md_table(side_by_side(reports, labels))))
