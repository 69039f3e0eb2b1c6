"""One table, one column per measurement: the same workload in-process and over HTTP, side by side.

Columns come from ``run`` reports (the main ``dataset`` pass) and from ``load`` reports (one column
per profile point); both hold the same metric summaries computed by the same functions from the same
records, so the columns compare. ``infermeter report A B C --table -`` prints it as Markdown.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from infermeter.render.tables import Table, ms, num

_ROWS = (
    ("TTFT mean (ms)", "ttft_s", "mean"),
    ("TTFT p50 (ms)", "ttft_s", "median"),
    ("TTFT p99 (ms)", "ttft_s", "p99"),
    ("TPOT mean (ms)", "tpot_s", "mean"),
    ("ITL p50 (ms)", "itl_s", "median"),
    ("E2E p50 (ms)", "e2e_s", "median"),
)


def label(report: dict[str, Any]) -> str:
    """``hf``, ``vllm``, or ``openai@host:port`` (plus the served model when the report names it)."""
    cfg = report.get("config") or {}
    backend = cfg.get("backend", "?")
    url = (cfg.get("server") or {}).get("base_url")
    if backend == "openai" and url:
        served = ((report.get("load") or {}).get("extra") or {}).get("served_model")
        return f"openai@{urlparse(url).netloc}" + (f" ({served})" if served else "")
    return backend


def columns(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(column title, metric dict) pairs: one for a run, one per profile point for a load."""
    name = label(report)
    wl = (report.get("config") or {}).get("workload") or {}
    if report.get("kind") == "load":
        return [
            (f"{name} {p['profile']}", {**p, "requests_ok": p["requests"]["ok"], "requests": p["requests"]["sent"]})
            for p in (report.get("load_run") or {}).get("points", [])
        ]
    m = report.get("metrics") or {}
    req = m.get("requests") or {}
    title = f"{name} batch {wl.get('batch_size', '?')}"
    return [(title, {**m, "requests_ok": req.get("ok"), "requests": req.get("total"), "request_rate": None})]


def _stat(d: dict[str, Any], key: str, field: str) -> str:
    return ms((d.get(key) or {}).get(field))


def side_by_side(reports: list[dict[str, Any]], labels: list[str] | None = None) -> Table:
    """The comparison table; ``labels`` (one per report) replace the derived column names."""
    cols: list[tuple[str, dict[str, Any]]] = []
    for i, r in enumerate(reports):
        for title, d in columns(r):
            cols.append((f"{labels[i]}: {title}" if labels and i < len(labels) else title, d))
    rows = [["requests ok / sent"] + [f"{d.get('requests_ok', '-')} / {d.get('requests', '-')}" for _, d in cols]]
    rows += [[name] + [_stat(d, key, field) for _, d in cols] for name, key, field in _ROWS]
    rows.append(["output throughput (tok/s)"] + [num(d.get("output_throughput")) for _, d in cols])
    rows.append(["decode TPS per batch (tok/s)"] + [num((d.get("decode_tps") or {}).get("mean")) for _, d in cols])
    rows.append(["request rate (req/s)"] + [num(d.get("request_rate"), 2) for _, d in cols])
    workloads = sorted({_workload(r) for r in reports})
    note = "workload: " + "; ".join(workloads)
    if len(workloads) > 1:
        note += " (different workloads: the columns do not compare)"
    return Table(
        name="side-by-side",
        title="Same workload, side by side",
        headers=["metric"] + [t for t, _ in cols],
        rows=rows,
        note=note,
        numeric=[False] + [True] * len(cols),
    )


def _workload(report: dict[str, Any]) -> str:
    cfg = report.get("config") or {}
    wl, gen = cfg.get("workload") or {}, cfg.get("generation") or {}
    size = f"prompt_len={wl.get('prompt_len')}, " if wl.get("kind") in ("synthetic", "shared-prefix") else ""
    return (
        f"{wl.get('kind')} limit={wl.get('limit')}, {size}max_new_tokens={gen.get('max_new_tokens')}, "
        f"seed={cfg.get('seed')}"
    )
