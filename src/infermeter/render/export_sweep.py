"""Tables, CSV rows and the points CSV of a sweep report (``kind: "sweep"``).

The console (``render/console_sweep.py``), Markdown and the HTML page all render these
:class:`~infermeter.render.export.Table` objects, so they never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infermeter.render.tables import Table, gib, ms, num
from infermeter.results.points import points_csv
from infermeter.scenarios.sweep import fmt_value as value
from infermeter.scenarios.sweep_analysis import METRICS


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.0%}"


def _sec(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def _int(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def _ms2(v: float | None) -> str:
    return "-" if v is None else f"{1000 * v:.2f}"


# metric -> (column header, formatter); the order of the points table (the deployment table first).
COLUMNS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "per_sample_s": ("s/sample", _sec),
    "output_tokens": ("total tokens", _int),
    "time_per_token_s": ("ms/token", _ms2),
    "output_throughput": ("TPS", lambda v: num(v)),
    "decode_tps": ("decode tok/s", lambda v: num(v)),
    "ttft_s": ("TTFT ms", ms),
    "context_ttft_s": ("context TTFT ms", ms),
    "peak_memory_bytes": ("peak GiB", gib),
    "batch_efficiency": ("batch eff.", _pct),
    "accuracy": ("accuracy", _pct),
    "e2e_s": ("E2E ms", ms),
    "tpot_s": ("TPOT ms", ms),
    "tokens_per_j": ("tok/J", lambda v: num(v)),
}
assert set(COLUMNS) == set(METRICS)


def _planned(r: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in (r.get("sweep") or {}).get("points") or [] if p.get("planned", True)]


def _shown(points: list[dict[str, Any]], columns: Any = COLUMNS) -> list[str]:
    """Metrics that at least one point has (a sweep without context or batch phases skips those)."""
    return [m for m in columns if any((p.get("metrics") or {}).get(m) is not None for p in points)]


def _points_table(r: dict[str, Any]) -> Table:
    sweep = r["sweep"]
    points = _planned(r)
    keys = [k["key"] for k in sweep.get("knobs") or []]
    shown = _shown(points, [m for m in COLUMNS if m not in ("e2e_s", "tpot_s")])  # those two: effects and CSV
    rows = []
    for p in points:
        cells = [p["id"], *(value(p["knobs"].get(k, "-")) for k in keys), p["status"]]
        rows.append(cells + [_cell(p, c) for c in shown])
    heads = ["point", *(k.rsplit(".", 1)[-1] for k in keys), "status", *(COLUMNS[c][0] for c in shown)]
    views = {str(v) for p in points if (v := (p.get("metrics") or {}).get("peak_memory_view"))}
    note = "time per sample / per token: the main pass's wall time (first send to last token) per request / "
    note += "per output token; TPS = output throughput (prefill included); decode tok/s excludes prefill; "
    note += f"peak memory of the main pass ({', '.join(sorted(views)) or '-'}); every metric is in points.csv"
    rep = sweep.get("replication")
    if rep:
        note += f"; mean +- 95% CI half-width over {rep['replicates']} replicates (unit: replicate; seed {rep['seed']})"
    numeric = [False] * (len(keys) + 2) + [True] * len(shown)
    return Table("points", f"sweep points ({len(points)})", heads, rows, note=note, numeric=numeric)


def _cell(p: dict[str, Any], metric: str) -> str:
    """A point's value; with replicates, ``mean +-half-width`` of its CI over them."""
    f = COLUMNS[metric][1]
    text = f((p.get("metrics") or {}).get(metric))
    s = (p.get("replicate_stats") or {}).get(metric) or {}
    if s.get("ci95_low") is None:
        return text
    return f"{text} +-{f((s['ci95_high'] - s['ci95_low']) / 2)}"


def _effect_text(text: str, ch: float, ec: dict[str, Any] | None) -> str:
    """``value (+x%)``; with replicates the CI of the change, and whether the noise can tell it apart."""
    if not ec or ec.get("rel_low") is None:
        return f"{text} ({ch:+.0%})"
    out = f"{text} ({ch:+.0%} [{ec['rel_low']:+.0%}, {ec['rel_high']:+.0%}])"
    return out if ec["distinguishable"] else out + " not distinguishable"


def _effect_tables(r: dict[str, Any]) -> list[Table]:
    """One table per knob: a row per metric, a column per value (``value (change vs baseline)``)."""
    out = []
    shown = _shown(_planned(r))
    for eff in r["sweep"].get("effects") or []:
        name = eff["key"].rsplit(".", 1)[-1]
        base = value(eff["baseline"])
        heads = [name]
        for row in eff["rows"]:
            tag = "baseline" if value(row["value"]) == base else row["point"] or "missing"
            heads.append(f"{value(row['value'])} ({tag})")
        rows = []
        for m in shown:
            cells = [COLUMNS[m][0]]
            for row in eff["rows"]:
                text, ch = COLUMNS[m][1](row["metrics"][m]), row["change"][m]
                if row["status"] != "complete":
                    cells.append(row["status"])
                else:
                    same = ch is None or value(row["value"]) == base
                    cells.append(text if same else _effect_text(text, ch, (row.get("effect_ci") or {}).get(m)))
            rows.append(cells)
        note = f"the other knobs at their baselines; (+x%): change from {name}={base}"
        if any(row.get("effect_ci") for row in eff["rows"]):
            note += " [95% CI of the change over replicates]; not distinguishable: the CI holds no change"
        numeric = [False] + [True] * len(eff["rows"])
        out.append(Table(f"effect-{name}", f"effect of {name}", heads, rows, note=note, numeric=numeric))
    return out


def _front_tables(r: dict[str, Any]) -> list[Table]:
    out = []
    by_id = {p["id"]: p for p in _planned(r)}
    for name, f in (r["sweep"].get("pareto") or {}).items():
        x, y = f["x"], f["y"]
        if not f["considered"]:
            continue
        rows = [
            [pid, by_id[pid]["label"], COLUMNS[x][1](by_id[pid]["metrics"][x]), COLUMNS[y][1](by_id[pid]["metrics"][y])]
            for pid in f["front"]
        ]
        rows += [  # sweep --replicates: dominated on the means, but no CI confirms it
            [f"{pid} (dominated, not significantly)", by_id[pid]["label"]]
            + [COLUMNS[x][1](by_id[pid]["metrics"][x]), COLUMNS[y][1](by_id[pid]["metrics"][y])]
            for pid in f.get("not_significant") or []
        ]
        title = f"Pareto front: {COLUMNS[y][0]} vs {COLUMNS[x][0]}"
        note = f"{len(f['front'])} of {len(f['considered'])} points are on the front: no other point is as good on "
        note += f"both and better on one ({f['y_better']} {COLUMNS[y][0]}, {f['x_better']} {COLUMNS[x][0]} is better)"
        out.append(
            Table(
                f"pareto-{name}",
                title,
                ["point", "knobs", COLUMNS[x][0], COLUMNS[y][0]],
                rows,
                note=note,
                numeric=[False, False, True, True],
            )
        )
    return out


def _order_table(r: dict[str, Any]) -> list[Table]:
    """The order each replicate measured the points in (sweep --replicates)."""
    rep = r["sweep"].get("replication")
    if not rep:
        return []
    rows = [[f"r{k + 1}", " ".join(o)] for k, o in enumerate(rep["orders"])]
    note = f"each replicate in its own seeded random order (seed {rep['seed']}), so drift does not line up with a knob"
    return [Table("replication", "order of measurement per replicate", ["replicate", "points in order"], rows, note)]


def _cut(text: str, n: int = 240) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def sweep_tables(r: dict[str, Any]) -> list[Table]:
    """Points, one effect table per knob, the Pareto fronts and the failed points."""
    if not (r.get("sweep") or {}).get("points"):
        return []
    out = [_points_table(r), *_effect_tables(r), *_front_tables(r), *_order_table(r)]
    failed = [
        [p["id"], p["label"], p["status"], _cut(p.get("error") or "")] for p in _planned(r) if p["status"] == "failed"
    ]
    if failed:
        out.append(
            Table(
                "failed", "failed points (recorded; the sweep went on)", ["point", "knobs", "status", "reason"], failed
            )
        )
    return out


def sweep_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Long CSV rows: one per metric of each completed point (section ``point:<id> <label>``)."""
    out = []
    for p in _planned(r):
        if p["status"] != "complete":
            continue
        for m, (_label, unit, _better) in METRICS.items():
            v = p["metrics"].get(m)
            if v is not None:
                s = (p.get("replicate_stats") or {}).get(m) or {}  # sweep --replicates: n and CI over replicates
                row = {"n": s.get("n", 1), "ci95_low": s.get("ci95_low"), "ci95_high": s.get("ci95_high")}
                out.append({"section": f"point:{p['id']} {p['label']}", "name": m, "unit": unit, "mean": v, **row})
    return out


__all__ = ["points_csv", "sweep_rows", "sweep_tables"]
