"""Console rendering of a compare report: per-variant statistics, verdicts, order and warm-up tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from infermeter.executors.view import executor_line
from infermeter.render.ab_view import log_ci, verdict_line
from infermeter.render.layout import glossary_footer, table_or_stack
from infermeter.scenarios.compare_failure import failed_call_rows, failure_line


def _fmt(metric: str, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.1f} tok/s" if metric in ("decode_tps", "output_throughput") else f"{1000 * v:.1f} ms"


def _num(metric: str, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.1f}" if metric in ("decode_tps", "output_throughput") else f"{1000 * v:.1f}"


def _stat(metric: str, d: dict[str, Any] | None) -> str:
    """``mean [low-high]`` in the column's unit, the interval on the log scale (never below zero);
    ``!`` marks stdev > 10% of the mean."""
    if not d:
        return "-"
    lh = log_ci(d) if d.get("ci95_low") is not None else None  # no CI with fewer than 2 units
    ci = f" [{_num(metric, lh[0])}-{_num(metric, lh[1])}]" if lh else ""
    return f"{_num(metric, d['mean'])}{ci}{'!' if d.get('unstable') else ''}"


def _gb(b: int | None) -> str:
    return "-" if b is None else f"{b / 2**30:.2f}"


def _variants(c: dict[str, Any], console: Console) -> None:
    orders = " ".join("/".join(o) for o in c["orders"])
    title = f"compare: {c['rounds']} rounds (orders {orders}); mean [95% CI] over steady calls"
    cols = ("variant", "decode tok/s", "E2E ms", "TTFT ms", "first call ms", "load ms", "peak GiB")
    rows, unstable = [], False
    for name, v in c["variants"].items():
        s = v["summary"]
        mem = s["peak_memory"]
        cells = [
            _stat(m, s[k])
            for m, k in (
                ("decode_tps", "decode_tps"),
                ("e2e_s", "e2e_s"),
                ("ttft_s", "ttft_s"),
                ("e2e_s", "first_call_s"),
                ("e2e_s", "load_s"),
            )
        ]
        unstable |= any(x.endswith("!") for x in cells)
        rows.append([name, *cells, _gb(mem.get("torch_allocated") or mem.get("rss"))])
    table_or_stack(console, title, cols, rows, numeric=[False] + [True] * 6)
    if unstable:
        console.print("[yellow]! stdev above 10% of the mean: the machine was noisy or the variant is unstable[/]")
    for r in c["ratios"]:
        style = "bold green" if r["significant"] else "bold"
        console.print(Text(verdict_line(r), style=style))
    console.print(glossary_footer(), style="dim")


def _inline(c: dict[str, Any], metrics: list[str], console: Console) -> None:
    t = Table(title="inline (one process, like a user script): position vs variant")
    for col in ("sequence", "position", "variant", *metrics, "cleanup after"):
        t.add_column(col)
    for label, results in c["inline"]["sequences"].items():
        for r in results:
            t.add_row(
                label,
                str(r["position"] + 1),
                r["variant"],
                *(_fmt(m, r["steady"][m]) for m in metrics),
                ("[green]" if r["cleanup_clean"] else "[red]") + r["cleanup_summary"] + "[/]",
            )
    console.print(t)
    for e in c["inline"]["order_effects"]:
        console.print(("[bold red]" if e["order_matters"] else "[bold]") + e["verdict"] + "[/]")


def _warmups(rows: list[dict[str, Any]], console: Console) -> None:
    t = Table(title="warm-up strategies: what each would make you conclude")
    for col in (
        "warm-up",
        "variant",
        "first call",
        "first measured call",
        "steady",
        "speedup (first)",
        "speedup (steady)",
    ):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["warmup"],
            r["variant"],
            _fmt("e2e_s", r["first_call_s"]),
            _fmt("e2e_s", r["first_measured_e2e_s"]),
            _fmt("e2e_s", r["steady_e2e_s"]),
            f"{r['speedup_first_measured']:.2f}x",
            f"{r['speedup_steady']:.2f}x",
        )
    console.print(t)


def render_compare(data: dict[str, Any], console: Console | None = None) -> None:
    """Print everything a compare report holds."""
    console = console or Console()
    c = data["compare"]
    if "variants" in c:
        _variants(c, console)
    if "inline" in c:
        _inline(c, list(c["options"]["metrics"]), console)
    if c.get("warmup_table"):
        _warmups(c["warmup_table"], console)
    if c.get("failed"):  # a variant's worker failed: the comparison stopped there
        heads = ("call", "E2E ms", "TTFT ms", "decode tok/s", "failed requests")
        if c["failed"].get("calls"):
            table_or_stack(console, "failed variant: its measured calls", heads, failed_call_rows(c["failed"]))
        console.print(Text(failure_line(c["failed"]), style="bold red"))
    if c.get("executor"):  # rounds over several GPUs: how they were placed
        note = c["executor"].get("note")
        console.print(executor_line(c["executor"]) + (f"; {note}" if note else ""))
    console.print(f"report: {data['run_dir']}/report.json")
