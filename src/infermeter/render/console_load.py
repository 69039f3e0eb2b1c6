"""Console output of ``infermeter load``: a live view while it runs, one table per run after."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from infermeter.core.progress import LoadView, load_view
from infermeter.core.redact import for_console
from infermeter.render.console import _ms, cache_rows
from infermeter.render.console_load_extras import render_load_extras
from infermeter.render.layout import fits, glossary_footer, print_stacked

__all__ = ["LoadView", "load_view", "render_load"]


def _rate(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _ms_pair(d: dict[str, Any] | None) -> str:
    if not d:
        return "-"
    p95 = _ms(d["p95"]) if d.get("p95") is not None else "-"  # reports written before p95 was kept
    return f"{_ms(d['median'])} / {p95} / {_ms(d['p99'])}"


_ROWS: list[tuple[str, Any]] = [
    ("target", lambda p: _rate(p["target_rate"]) + " req/s" if p["target_rate"] else f"concurrency {p['concurrency']}"),
    ("sent (achieved rate)", lambda p: _rate(p["achieved_rate"]) + " req/s"),
    ("completed", lambda p: _rate(p["request_rate"]) + " req/s"),
    ("output throughput", lambda p: "-" if p["output_throughput"] is None else f"{p['output_throughput']:.1f} tok/s"),
    ("TTFT p50 / p95 / p99", lambda p: _ms_pair(p["ttft_s"])),
    ("TPOT p50 / p95 / p99", lambda p: _ms_pair(p["tpot_s"])),
    ("ITL p50 / p95 / p99", lambda p: _ms_pair(p["itl_s"])),
    ("E2E p50 / p95 / p99", lambda p: _ms_pair(p["e2e_s"])),
    ("requests ok / sent", lambda p: f"{p['requests']['ok']} / {p['requests']['sent']} ({p['requests']['measured']} "
                                     "in window)"),
]  # fmt: skip


def _goodput(p: dict[str, Any]) -> str:
    g = p.get("goodput") or {}
    frac = g.get("fraction")
    return "-" if frac is None else f"{_rate(g.get('requests_per_s'))} req/s ({frac:.0%} of requests)"


def point_rows(points: list[dict[str, Any]], slo: dict[str, float]) -> list[list[str]]:
    """One row per metric, one column per profile point (console, HTML and Markdown share it)."""
    rows = _ROWS + ([("goodput", _goodput)] if slo else [])
    return [[name, *(fn(p) for p in points)] for name, fn in rows]


def render_load(report: dict[str, Any], console: Console | None = None) -> None:
    """One column per profile point, errors by reason, warnings and where the report is."""
    con = console or Console()
    lr = report.get("load_run") or {}
    info = report.get("load") or {}
    slo = (lr.get("options") or {}).get("slo") or {}
    points = lr.get("points") or []
    where = f"{info.get('model', '?')} at {(info.get('extra') or {}).get('base_url', '?')}"
    title = f"infermeter load: {for_console(where)}"  # the model id comes from the server
    t = Table(title=title)
    t.add_column("metric", no_wrap=True)
    for p in points:
        t.add_column(p["profile"], justify="right", no_wrap=True)
    rows = point_rows(points, slo)
    for row in rows:
        t.add_row(*row)
    if fits(con, t):
        con.print(t)
    else:  # narrow terminal: one heading per point, its metrics packed under it (nothing cut)
        transposed = [[p["profile"], *(row[i + 1] for row in rows)] for i, p in enumerate(points)]
        print_stacked(con, title, ["point", *(row[0] for row in rows)], transposed)
    con.print(glossary_footer(), style="dim")
    if slo:
        con.print("SLO: " + ", ".join(f"{k} <= {_ms(v)}" for k, v in slo.items()))
    if lr.get("response_cache") or (lr.get("inputs") or {}).get("repeat_fraction"):
        c = Table(title="inputs and response cache (measured windows)")
        c.add_column("")
        c.add_column("")
        cache_rows(c, {"inputs": lr.get("inputs"), "response_cache": lr.get("response_cache")})
        con.print(c)

    render_load_extras(report, con)
    for reason, n in (lr.get("errors_by_reason") or {}).items():
        con.print(f"[red]errors[/red]: {n} x {for_console(reason)}")
    for w in report.get("warnings") or []:
        con.print(f"[yellow]warning[/yellow]: {for_console(w)}")
    con.print(f"report: {report.get('run_dir')}/report.json  (records: records.jsonl)")
