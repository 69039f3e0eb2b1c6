"""Console output of ``infermeter load``: a live view while it runs, one table per run after."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infermeter.core.redact import for_console
from infermeter.report.console import _ms


class LoadView:
    """One progress line per profile point: sent/done, in flight, rate, tok/s, TTFT p50, errors."""

    def __init__(self, progress: Progress | None, max_requests: int | None, duration_s: float | None) -> None:
        self.progress, self.max_requests, self.duration_s = progress, max_requests, duration_s
        self.task: Any = None
        self.state: Any = None

    def show(self, st: Any, errors: Any, now: float) -> None:
        """Refresh from the live counters (called a few times a second, never per token)."""
        if self.progress is None or st is None:
            return
        if st is not self.state:
            self.state = st
            total = self.max_requests if self.max_requests is not None else self.duration_s
            self.task = self.progress.add_task(st.profile.label, total=total, stats="")
        elapsed = max(now - st.start, 1e-9)
        ttfts = sorted(st.ttfts[-500:])
        p50 = _ms(ttfts[len(ttfts) // 2]) if ttfts else "-"
        stats = (
            f"{st.done}/{st.sent} done, {st.sent - st.done} in flight, {st.done / elapsed:.1f} req/s, "
            f"{st.tokens / elapsed:.0f} tok/s, TTFT p50 {p50}, errors {st.errors}"
        )
        done = st.sent if self.max_requests is not None else min(elapsed, self.duration_s or elapsed)
        self.progress.update(self.task, completed=done, stats=stats)


@contextlib.contextmanager
def load_view(enabled: bool, max_requests: int | None, duration_s: float | None) -> Iterator[LoadView]:
    """The live view on stderr (or a silent one for --quiet / --json)."""
    if not enabled:
        yield LoadView(None, max_requests, duration_s)
        return
    progress = Progress(
        TextColumn("[bold]{task.description:<16}"),
        BarColumn(bar_width=20),
        TimeElapsedColumn(),
        TextColumn("{task.fields[stats]}"),
        console=Console(stderr=True),
        refresh_per_second=4,
    )
    with progress:
        yield LoadView(progress, max_requests, duration_s)


def _p(d: dict[str, Any] | None) -> str:
    return "-" if not d else f"{1000 * d['median']:.1f}/{1000 * d['p99']:.1f}"


def _rate(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _ms_pair(d: dict[str, Any] | None) -> str:
    return "-" if not d else f"{_ms(d['median'])} / {_ms(d['p99'])}"


_ROWS: list[tuple[str, Any]] = [
    ("target", lambda p: _rate(p["target_rate"]) + " req/s" if p["target_rate"] else f"concurrency {p['concurrency']}"),
    ("sent (achieved rate)", lambda p: _rate(p["achieved_rate"]) + " req/s"),
    ("completed", lambda p: _rate(p["request_rate"]) + " req/s"),
    ("output throughput", lambda p: "-" if p["output_throughput"] is None else f"{p['output_throughput']:.1f} tok/s"),
    ("TTFT p50 / p99", lambda p: _ms_pair(p["ttft_s"])),
    ("TPOT p50 / p99", lambda p: _ms_pair(p["tpot_s"])),
    ("ITL p50 / p99", lambda p: _ms_pair(p["itl_s"])),
    ("E2E p50 / p99", lambda p: _ms_pair(p["e2e_s"])),
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
    t = Table(title=f"infermeter load: {for_console(where)}")  # the model id comes from the server
    t.add_column("metric", no_wrap=True)
    for p in points:
        t.add_column(p["profile"], justify="right")
    for row in point_rows(points, slo):
        t.add_row(*row)
    con.print(t)
    if slo:
        con.print("SLO: " + ", ".join(f"{k} <= {_ms(v)}" for k, v in slo.items()))
    if lr.get("response_cache") or (lr.get("inputs") or {}).get("repeat_fraction"):
        from infermeter.report.console import cache_rows

        c = Table(title="inputs and response cache (measured windows)")
        c.add_column("")
        c.add_column("")
        cache_rows(c, {"inputs": lr.get("inputs"), "response_cache": lr.get("response_cache")})
        con.print(c)
    for reason, n in (lr.get("errors_by_reason") or {}).items():
        con.print(f"[red]errors[/red]: {n} x {for_console(reason)}")  # a server's text: no markup, no escapes
    for w in report.get("warnings") or []:
        con.print(f"[yellow]warning[/yellow]: {for_console(w)}")
    con.print(f"report: {report.get('run_dir')}/report.json  (records: records.jsonl)")
