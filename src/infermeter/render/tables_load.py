"""A load report's tables beyond the points table (server metrics, the client's own lag, the SLO
search) and its numeric CSV rows: one row per point and metric, the point named in ``section``."""

from __future__ import annotations

from typing import Any

from infermeter.render.tables import Table


def _f(v: float | None, fmt: str = "{:.3g}") -> str:
    return "-" if v is None else fmt.format(v)


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{1000 * v:.2f}"


def _mm(d: dict[str, Any] | None, scale: float = 1.0, fmt: str = "{:.2f}") -> str:
    return "-" if not d else f"{fmt.format(d['mean'] * scale)} / {fmt.format(d['max'] * scale)}"


def server_table(run: dict[str, Any]) -> Table | None:
    """The server's own numbers per point, or a note saying why there are none."""
    sm = run.get("server_metrics")
    if not sm:
        return None
    points = run.get("points") or []
    if not sm.get("available"):
        return Table("server", "server metrics", ["metric", "value"], [["scraped", sm.get("note") or "none"]])
    rows = [
        ["KV cache used % (mean / max)", *(_mm(s.get("kv_cache_usage"), 100, "{:.1f}") for s in sm["points"])],
        ["running (mean / max)", *(_mm(s.get("running")) for s in sm["points"])],
        ["waiting (mean / max)", *(_mm(s.get("waiting")) for s in sm["points"])],
        ["prefix cache hit rate", *(_f(s.get("prefix_cache_hit_rate"), "{:.1%}") for s in sm["points"])],
        ["preemptions", *(_f(s.get("preemptions"), "{:g}") for s in sm["points"])],
        ["server output tok/s", *(_f(s.get("generation_tokens_per_s"), "{:.1f}") for s in sm["points"])],
        ["samples", *(str(s.get("samples", 0)) for s in sm["points"])],
    ]
    note = f"scraped every second from {sm['url']} ({sm.get('samples', 0)} samples, {sm.get('failures', 0)} failed)"
    heads = ["metric", *(p["profile"] for p in points)][: 1 + len(sm["points"])]
    return Table("server", "server metrics (scraped during each point)", heads, rows, note=note)


def _share(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def client_table(run: dict[str, Any]) -> Table | None:
    """The client's own delays per point: late sends and request-to-headers time."""
    points = [p for p in run.get("points") or [] if p.get("client")]
    if not points:
        return None

    def pair(d: dict[str, Any] | None) -> str:
        return "-" if not d else f"{_ms(d['median'])} / {_ms(d['p99'])}"

    rows = [
        ["send lag ms p50 / p99", *(pair(p["client"].get("send_lag_s")) for p in points)],
        ["request to response headers ms p50 / p99", *(pair(p["client"].get("to_headers_s")) for p in points)],
        ["sent > 5 ms late", *(_share(p["client"].get("late_share")) for p in points)],
    ]
    note = (
        "send lag: how late each request left against its due time (schedule, or a freed slot); "
        f"connections opened before the first point: {run.get('connections_warmed') or 0}"
    )
    return Table("client", "the client's own delays", ["metric", *(p["profile"] for p in points)], rows, note=note)


def search_table(run: dict[str, Any]) -> Table | None:
    """The SLO search: each rate tried, its attainment with a 95% interval, the verdict."""
    s = run.get("slo_search")
    if not s:
        return None
    rows = []
    for v in s["points"]:
        ci = v.get("attainment_ci95")
        rows.append([v["profile"], _f(v.get("rate"), "{:.4g}"), _f(v.get("attainment"), "{:.1%}"),
                     "-" if not ci else f"{ci[0]:.1%} - {ci[1]:.1%}", _f(v.get("goodput_rate"), "{:.3g}"),
                     "yes" if v["meets"] else "no"])  # fmt: skip
    best = s.get("best_rate")
    found = f"{best:.4g} req/s" if best else "none found"
    note = f"highest rate meeting the SLO for {s['target']:.0%} of requests: {found}"
    note += f" ({s['note']})" if s.get("note") else ""
    heads = ["point", "rate req/s", "met SLO", "95% CI", "good req/s", "meets"]
    return Table("slo-search", "SLO search", heads, rows, note=note, numeric=[False, True, True, False, True, False])


def shards_table(run: dict[str, Any]) -> Table | None:
    """``--client-shards``: each shard's node, its host's clock offset +- uncertainty, requests sent / planned."""
    cs = run.get("client_shards")
    if not cs:
        return None
    rows = []
    for s in cs["shards"]:
        planned = "/".join("-" if p is None else str(p) for p in s.get("requests_planned") or [])
        share = ", ".join(map(str, s.get("shares_node_with") or [])) or "-"
        rows.append([str(s["shard"]), s["host"], str(s.get("node_id") or "-")[:8],
                     f"{1000 * s['clock_offset_s']:+.2f}+-{1000 * s['clock_uncertainty_s']:.2f}",
                     "/".join(map(str, s.get("requests") or [])), planned or "-", share])  # fmt: skip
    note = (
        f"{len(cs['shards'])} Ray actors on {cs.get('nodes_used', '?')} of {cs.get('nodes', '?')} node(s); durations "
        "are measured on each shard's own host, the offset (host wall clock - this one's) only places them in time"
    )
    heads = ["shard", "host", "node", "clock offset ms", "requests", "planned", "same node as"]
    return Table("shards", "client shards", heads, rows, note=note,
                 numeric=[True, False, False, True, True, True, False])  # fmt: skip


def load_extra_tables(report: dict[str, Any]) -> list[Table]:
    """Tables shown after the points table (HTML, Markdown)."""
    run = report.get("load_run") or {}
    tables = (search_table(run), server_table(run), client_table(run), shards_table(run))
    return [t for t in tables if t is not None]


_STAT_KEYS = ("ttft_s", "tpot_s", "itl_s", "e2e_s")
_VALUE_KEYS = (("achieved_rate", "req/s"), ("request_rate", "req/s"), ("output_throughput", "tok/s"),
               ("window_s", "s"))  # fmt: skip
_STATS = ("n", "mean", "median", "p90", "p95", "p99", "ci95_low", "ci95_high")


def load_rows(report: dict[str, Any]) -> list[dict[str, Any] | None]:
    """One CSV row per point and metric: latency summaries, rates, goodput, client lag, server metrics."""
    run = report.get("load_run") or {}
    sm = run.get("server_metrics") or {}
    out: list[dict[str, Any] | None] = []
    for i, p in enumerate(run.get("points") or []):
        sec = f"point:{p['profile']}"
        for key in _STAT_KEYS:
            d = p.get(key)
            out.append({"section": sec, "name": key, "unit": "s", **{k: d.get(k) for k in _STATS}} if d else None)
        for key, unit in _VALUE_KEYS:
            out.append({"section": sec, "name": key, "unit": unit, "mean": p[key]} if p.get(key) is not None else None)
        g = p.get("goodput") or {}
        if g.get("requests_per_s") is not None:
            good = {"section": sec, "name": "goodput", "unit": "req/s", "mean": g["requests_per_s"], "n": g["total"]}
            out.append(good)
        for key, d in (p.get("client") or {}).items():
            if isinstance(d, float):  # late_share
                out.append({"section": sec, "name": f"client_{key}", "unit": "share", "mean": d})
            elif d:
                out.append({"section": sec, "name": f"client_{key}", "unit": "s", "n": d["n"], "median": d["median"],
                            "p99": d["p99"]})  # fmt: skip
        if sm.get("available") and i < len(sm.get("points") or []):
            for key, v in sm["points"][i].items():
                if isinstance(v, dict):
                    out.append({"section": sec, "name": f"server_{key}", "unit": "", "mean": v["mean"]})
                elif isinstance(v, (int, float)) and key != "samples":
                    out.append({"section": sec, "name": f"server_{key}", "unit": "", "mean": v})
    best = (run.get("slo_search") or {}).get("best_rate")
    if best is not None:
        out.append({"section": "slo_search", "name": "best_rate", "unit": "req/s", "mean": best})
    return out
