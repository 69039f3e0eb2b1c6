"""Console and HTML views of a ``tune`` report: the ranked ladder, the verified best, the roofline."""

from __future__ import annotations

import html
from typing import Any

_LABEL = {"decode_tps": "decode", "output_throughput": "throughput", "e2e_s": "E2E", "ttft_s": "TTFT"}


def _signed(v: float | None, unit: str, scale: float = 1.0, fmt: str = ".1f") -> str | None:
    if v is None:
        return None
    return f"{'+' if v >= 0 else '-'}{abs(v) / scale:{fmt}} {unit}"


def row_line(r: dict[str, Any], metric: str) -> str:
    """'static cache + compile: 4.3x decode [3.8, 4.8], +20 s first call, +0.2 GB, accuracy unchanged'."""
    if not r.get("measured"):
        return f"{r['name']}: not measured (budget spent or the worker failed)"
    label = _LABEL.get(metric, metric)
    if r["significant"]:
        head = f"{r['speedup']:.2f}x {label} [{r['ci95_low']:.2f}, {r['ci95_high']:.2f}]"
    else:
        head = f"no significant difference ({r['speedup']:.2f}x {label} [{r['ci95_low']:.2f}, {r['ci95_high']:.2f}])"
    parts = [head]
    first = _signed(r.get("first_call_delta_s"), "s first call")
    if first and abs(r["first_call_delta_s"]) >= 0.05:
        parts.append(first)
    mem = _signed(r.get("memory_delta_bytes"), "GB", 1e9, ".2f")
    if mem and abs(r["memory_delta_bytes"]) >= 5e6:
        parts.append(mem)
    if r.get("accuracy"):
        parts.append(r["accuracy"])
    if r.get("meets_slo") is not None:
        parts.append("meets the SLO" if r["meets_slo"] else "misses the SLO")
    return f"{r['name']}: " + ", ".join(parts)


def lines(data: dict[str, Any]) -> list[str]:
    """The tune report as plain lines (console and Markdown alike)."""
    t = data.get("tune") or {}
    if not t:
        return [f"tune {data.get('status')}: {data.get('error') or 'no result'}"]
    out = [f"ladder ({t.get('rounds')} interleaved rounds, each variant a fresh process; ranked by {t['metric']}):"]
    out += [f"  {row_line(r, t['metric'])}" for r in t["ranked"]]
    out += [f"  skipped {s['name']}: {s['why']}" for s in t.get("skipped") or []]
    best = t["best"]
    if best["chosen"]:
        out.append(f"best combination: {' + '.join(best['chosen'])} ({_overrides(best['overrides'])})")
    v = best.get("verify")
    if isinstance(v, dict):
        out.append(f"verified against the baseline: {v['verdict']}")
    elif v:
        out.append(v)
    roof = best.get("roofline")
    if roof and roof.get("mbu") is not None:
        out.append(
            f"best decode at {roof['mbu']:.0%} of this device's memory bandwidth limit "
            f"({roof['limit_tps_batch1']:,.0f} tok/s at batch 1)"
        )
    elif roof:
        out.append("roofline share: run `infermeter calibrate` first")
    if t.get("slo"):
        if best.get("meets_slo") or t["baseline"].get("meets_slo") or any(r.get("meets_slo") for r in t["ranked"]):
            out.append(f"SLO {t['slo']}: met by {'the best combination' if best.get('meets_slo') else 'some variants'}")
        else:
            c = t.get("closest_to_slo") or {}
            out.append(
                f"SLO {t['slo']}: no candidate meets it; closest: {c.get('name', '-')} "
                f"({c.get('slo_value', float('nan')):.4g})"
            )
    spent = f"spent {t['elapsed_s']:.0f} s of a {t['budget_s']:.0f} s budget"
    if t["elapsed_s"] > 1.1 * t["budget_s"]:
        spent += " (over it: the minimum of 2 interleaved rounds of fresh workers took longer here)"
    out.append(spent)
    return out


def _overrides(o: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in o.items()) or "no change"


def render_tune(data: dict[str, Any], console: Any = None) -> None:
    """Print the tune report."""
    from rich.console import Console

    console = console or Console()
    for line in lines(data):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if data.get("run_dir"):
        console.print(f"report: {data['run_dir']}/report.json, ladder: {data['run_dir']}/tune.html")


def ladder_html(data: dict[str, Any], sid: str = "tune") -> list[str]:
    """The ladder as an HTML table plus the summary lines (a body for the multi-report page too)."""
    t = data.get("tune") or {}
    cells = []
    for r in t.get("ranked") or []:
        if r.get("measured"):
            ratio = f"{r['speedup']:.2f}x [{r['ci95_low']:.2f}, {r['ci95_high']:.2f}]"
            first = "" if r.get("first_call_delta_s") is None else f"{r['first_call_delta_s']:+.2f}"
            mem = "" if r.get("memory_delta_bytes") is None else f"{r['memory_delta_bytes'] / 1e9:+.2f}"
            row = [r["name"], ratio, "yes" if r["significant"] else "no", first, mem, r.get("accuracy") or ""]
        else:
            row = [r["name"], "not measured", "", "", "", ""]
        cells.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    cols = ("candidate", f"{t.get('metric', '')} ratio [95% CI]", "significant", "first call Δ s", "memory Δ GB")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in (*cols, "accuracy"))
    summary = "".join(f"<li>{html.escape(x)}</li>" for x in lines(data)[len(t.get("ranked") or []) + 1 :])
    return [f'<table id="{sid}-ladder"><tr>{head}</tr>{"".join(cells)}</table>', f"<ul>{summary}</ul>"]


def tune_html(data: dict[str, Any]) -> str:
    """A standalone HTML page with the ladder as a table."""
    name = str((data.get("config") or {}).get("model", {}).get("name", ""))
    return (
        "<!doctype html><meta charset='utf-8'><title>infermeter tune</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px 8px}"
        "table{border-collapse:collapse}</style>"
        f"<h1>infermeter tune: {html.escape(name)}</h1>" + "".join(ladder_html(data))
    )
