"""Console rendering of a soak report: the cleanup table (latency at chosen calls, peak memory,
stable yes/no) with the trend verdicts, then the overall verdict."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from infermeter.core.redact import for_console
from infermeter.render.layout import glossary_footer

_PEAK_LABEL = {"torch_allocated": "peak alloc", "rss": "peak RSS"}


def _ms(s: float | None) -> str:
    return "-" if s is None else f"{1000 * s:.0f}" if s >= 1 else f"{1000 * s:.1f}"


def _gib(b: int | None) -> str:
    return "-" if b is None else f"{b / 2**30:.2f}"


def _verdicts(c: dict[str, Any]) -> list[str]:
    """E2E and the headline memory series always; any other series that is not plainly stable."""
    headline = {"e2e_s", c["peak"]["view"]}
    return [
        f"[red]{s['line']}[/]" if s["decay"] else s["line"]
        for key, s in c["series"].items()
        if key in headline or s["verdict"] != "stable"
    ]


def _last_column(configs: list[dict[str, Any]], at: list[int]) -> str | None:
    """Header of a column for the last call when it is past the ``at`` calls: ``call N`` when every
    configuration made N calls (duration mode makes them differ), else ``last``."""
    lasts = {c["last"]["call"] for c in configs if c["last"]}
    if not lasts or max(lasts) <= max(at):
        return None
    return f"call {lasts.pop()}" if len(lasts) == 1 else "last"


def _title(data: dict[str, Any]) -> str:
    soak = data["soak"]
    opts = soak["options"]
    cfg = data["config"]
    worker = next((c["worker"] for c in soak["configurations"] if c.get("worker")), None) or {}
    device = worker.get("device", cfg["model"]["device"])
    length = f"{opts['duration_s']:g} s" if opts["duration_s"] else f"{opts['calls']} calls"
    return f"soak: {cfg['model']['name']} on {device}, {length} per configuration, {opts['inputs']} inputs"


def _stable_cell(c: dict[str, Any]) -> str:
    if not c["calls"]:
        return f"[yellow]{c['status']}[/]"
    cell = {True: "[green]yes[/]", False: "[bold red]NO[/]", None: "[yellow]?[/]"}[c["stable"]]
    return cell + (f" [yellow]({c['status']})[/]" if c.get("status") == "partial" else "")


def _table(data: dict[str, Any]) -> Table:
    configs = data["soak"]["configurations"]
    at = list(data["soak"]["options"]["at"])
    view = next((c["peak"]["view"] for c in configs if c["calls"]), "rss")
    caption = "E2E latency in ms; steady: median after warm-up, per item; peak memory of any call in GiB"
    t = Table(title=_title(data), caption=caption)
    t.add_column("config", style="bold")
    for call in at:
        t.add_column(f"call {call}", justify="right")
    last = _last_column(configs, at)
    if last:
        t.add_column(last, justify="right")
    t.add_column("steady", justify="right")
    t.add_column(_PEAK_LABEL.get(view, view), justify="right")
    t.add_column("stable")
    for c in configs:
        cells = [_ms(c["at"].get(str(call))) for call in at]
        if last == "last":
            cells.append(f"{_ms(c['last']['e2e_s'])} (#{c['last']['call']})" if c["last"] else "-")
        elif last:
            cells.append(_ms(c["last"]["e2e_s"]) if c["last"] else "-")
        t.add_row(c["name"], *cells, _ms(c["steady_e2e_per_item_s"]), _gib(c["peak"]["bytes"]), _stable_cell(c))
    return t


def render_soak(data: dict[str, Any], console: Console | None = None) -> None:
    """Print the strategy table, the trend verdicts, the overall verdict, warnings and the report path."""
    console = console or Console()
    soak = data["soak"]
    console.print(_table(data))
    warm = soak["options"]["warmup_calls"]
    excluded = f" (calls 1-{warm} are warm-up: shown, not in the trends)" if warm else ""
    console.print(f"[bold]trends[/] per call{excluded}; memory is read after each call and its cleanup:")
    for c in soak["configurations"]:
        if c["calls"]:
            console.print(f"  [bold]{c['name']}[/]: " + "; ".join(_verdicts(c)))
    console.print(f"[bold]verdict:[/] {soak['verdict']['line']}")
    for w in data.get("warnings", []):
        console.print(f"[yellow]warning:[/] {for_console(w)}")

    console.print(glossary_footer(), style="dim")
    console.print(f"report: {data['run_dir']}/report.json (per-call rows: calls.jsonl)")
