"""``infermeter history``: recorded runs with their headline numbers, sweep points under their sweep.

One row per run: id, kind, status, model, label (``run --label``), decode speed, wait for the first
token, accuracy, peak memory and when it started. A sweep's points (each a full run, recorded in
the database too) are listed under the sweep as ``p01 ...`` rows instead of as unrelated runs.
Narrow terminals get the stacked layout of :mod:`infermeter.render.layout`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from infermeter.render.layout import fits, glossary_footer, pack

HEADERS = ["run", "kind", "status", "model", "label", "decode tok/s", "TTFT ms", "accuracy", "peak GiB", "started"]
NUMERIC = [False] * 5 + [True] * 4


def _value(meas: dict[str, dict[str, Any]], name: str) -> float | None:
    m = meas.get(name)
    if not m:
        return None
    return m.get("mean") if m.get("mean") is not None else m.get("value")


def _peak(meas: dict[str, dict[str, Any]]) -> float | None:
    peaks: list[float] = [m["value"] for n, m in meas.items() if n.startswith("memory.peak.") and m.get("value")]
    return max(peaks) if peaks else None


def headline(meas: dict[str, dict[str, Any]]) -> list[str]:
    """Decode tok/s, TTFT ms, accuracy and peak GiB of a run's measurements ('-' where absent)."""
    tps, ttft, acc, peak = _value(meas, "decode_tps"), _value(meas, "ttft_s"), _value(meas, "accuracy"), _peak(meas)
    return [
        "-" if tps is None else f"{tps:.1f}",
        "-" if ttft is None else f"{1000 * ttft:.1f}",
        "-" if acc is None else f"{acc:.0%}",
        "-" if peak is None else f"{peak / 2**30:.2f}",
    ]


def _label(run: dict[str, Any]) -> str:
    cfg = run.get("config") or {}
    if cfg.get("label"):
        return str(cfg["label"])
    first = next(iter((cfg.get("configs") or {}).values()), None)  # compare / soak: the first variant's
    return str((first or {}).get("label") or "")


def _sweep_of(run: dict[str, Any]) -> tuple[str, str] | None:
    """(sweep run id, point id) when this run is a sweep point: SWEEP/points/pNN/RUN/report.json."""
    parts = Path(run.get("report_path") or "").parts
    if len(parts) >= 5 and parts[-4] == "points":
        return parts[-5], parts[-3]
    return None


def history_rows(store: Any, runs: list[dict[str, Any]], label: str | None = None) -> list[list[Any]]:
    """Table rows, newest first, each sweep followed by its points (indented, named by point id)."""
    ids = {r["run_id"] for r in runs}
    points: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    top = []
    for r in runs:
        parent = _sweep_of(r)
        if parent and parent[0] in ids:
            points.setdefault(parent[0], []).append((parent[1], r))
        else:
            top.append(r)
    rows: list[list[Any]] = []

    def row(r: dict[str, Any], name: str) -> list[Any]:
        cells = [name, r["kind"], r.get("status") or "-", str(r.get("model") or "-"), _label(r)]
        return [Text(c) for c in cells] + headline(store.measurements(r["run_id"])) + [r["created_utc"][:19]]

    for r in top:
        if label and label.lower() not in _label(r).lower():
            continue
        rows.append(row(r, r["run_id"]))
        for pid, p in sorted(points.get(r["run_id"], []), key=lambda x: x[0]):
            rows.append(row(p, f"  {pid} {p['run_id']}"))
    return rows


def _compact(row: list[Any]) -> list[str]:
    """A narrow terminal's parts of one row: kind, status, model, label, then 'name value' pairs."""
    plain = [c.plain if isinstance(c, Text) else str(c) for c in row]
    parts = [p for p in plain[1:5] if p]
    units = ("tok/s decode", "ms TTFT", "accuracy", "GiB peak")
    parts += [f"{v} {u}" for v, u in zip(plain[5:9], units, strict=True) if v != "-"]
    return [*parts, plain[9].replace("T", " ")]


def render_history(
    store: Any, runs: list[dict[str, Any]], *, label: str | None = None, console: Console | None = None
) -> None:
    """Print the history table, or two lines per run on a narrow terminal (or 'no runs recorded')."""
    console = console or Console()
    rows = history_rows(store, runs, label)
    if not rows:
        console.print("no runs recorded" + (f" with a label containing {label!r}" if label else ""))
        return
    table = _table(rows)
    if fits(console, table):
        console.print(table)
    else:
        for row in rows:
            indent = "    " if str(row[0]).startswith("  ") else "  "
            console.print(Text(str(row[0]), style="bold"))
            for line in pack(_compact(row), console.width, indent):
                console.print(Text(line))
    console.print(glossary_footer(), style="dim")


def _table(rows: list[list[Any]]) -> Table:
    t = Table()
    for i, h in enumerate(HEADERS):
        t.add_column(h, justify="right" if i < len(NUMERIC) and NUMERIC[i] else "left", no_wrap=True)
    for row in rows:
        t.add_row(*row)
    return t
