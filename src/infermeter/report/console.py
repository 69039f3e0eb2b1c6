"""Console rendering of a run report: the six metrics of seed 003 first, details after."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from infermeter.core.redact import for_console


def _ms(s: float | None) -> str:
    return "-" if s is None else f"{1000 * s:.1f} ms"


def _gb(b: int | None) -> str:
    return "-" if b is None else f"{b / 2**30:.2f} GiB"


def _dist(d: dict[str, Any] | None, unit_ms: bool = True) -> str:
    if not d:
        return "-"
    f = _ms if unit_ms else (lambda v: f"{v:.1f}")
    ci = f"[{f(d['ci95_low'])}, {f(d['ci95_high'])}]" if d["n"] > 1 else ""
    return f"mean {f(d['mean'])} {ci}  p50 {f(d['median'])}  p90 {f(d['p90'])}  p99 {f(d['p99'])}  n={d['n']}"


def _memory(m: dict[str, Any]) -> str:
    peak = m.get("peak") or {}
    parts = [f"RSS {_gb(peak.get('rss'))}"]
    if peak.get("torch_allocated") is not None:
        parts.insert(0, f"torch allocated {_gb(peak['torch_allocated'])} / reserved {_gb(peak['torch_reserved'])}")
    if peak.get("nvml_process") is not None:
        parts.append(f"NVML process {_gb(peak['nvml_process'])}")
    parts.append(f"weights {_gb(m.get('weights_bytes'))}")
    return ", ".join(parts)


def _batch(b: dict[str, Any] | None) -> str:
    if not b:
        return "-"
    pts = []
    for p in b["points"]:
        thr = p["throughput"]["mean"] if p["throughput"] else None
        eff = f" ({p['efficiency']:.0%})" if p["efficiency"] is not None else ""
        pts.append(f"b{p['batch_size']}: {thr:.1f} tok/s{eff}" if thr else f"b{p['batch_size']}: -")
    knee = b.get("knee_batch_size")
    return "  ".join(pts) + (f"  knee at b{knee:g}" if knee else "")


def _context(c: dict[str, Any] | None) -> str:
    if not c:
        return "-"
    return "  ".join(f"{p['prompt_tokens']} tok: {_ms(p['ttft']['mean'])}" for p in c["points"])


def _accuracy(a: dict[str, Any] | None) -> str:
    if not a:
        return "- (no references)"
    return f"{a['correct']:g}/{a['n']} = {a['mean']:.1%} (95% CI {a['ci95_low']:.0%}-{a['ci95_high']:.0%})"


def _images(i: dict[str, Any] | None) -> str:
    tokens = i["image_tokens_per_prompt"]
    pre = i["preprocess_s"]
    share = f", {i['image_token_share']:.0%} of their prompt tokens" if i["image_token_share"] is not None else ""
    return (
        f"{i['images']} images in {i['requests_with_images']}/{i['requests']} prompts; "
        f"{tokens['mean']:.0f} image tokens per prompt (min {tokens['min']:g}, max {tokens['max']:g}{share}); "
        f"preprocessing {_ms(pre['mean'] if pre else None)} mean, p90 {_ms(pre['p90'] if pre else None)} "
        "(before t_send: not in TTFT)"
    )


def cache_rows(t: Table, m: dict[str, Any]) -> None:
    """Input repetition, and the response cache's hit rate, hit/miss latencies and memory."""
    rep = m.get("inputs")
    if rep and rep["repeat_fraction"] > 0:
        t.add_row(
            "repeated inputs",
            f"{rep['repeat_fraction']:.0%} of {rep['requests']} requests ({rep['distinct']} distinct inputs)",
        )
    c = m.get("response_cache")
    if not c:
        return
    rate = "-" if c["hit_rate"] is None else f"{c['hit_rate']:.1%}"
    t.add_row(
        "response cache",
        f"hit rate {rate} ({c['hits']} hits, {c['misses']} misses, {c['uncacheable']} uncacheable)",
    )
    t.add_row("  E2E of hits", _dist(c["hit_e2e_s"]))
    t.add_row("  E2E of misses", _dist(c["miss_e2e_s"]))
    store = c.get("store")
    if store:
        limits = []
        if store["max_entries"]:
            limits.append(f"{store['max_entries']} entries")
        if store["max_bytes"]:
            limits.append(f"{store['max_bytes'] / 2**20:.1f} MiB")
        limit = " / ".join(limits)
        t.add_row(
            "  cache memory (payload)",
            f"{store['bytes'] / 2**20:.3f} MiB in {store['entries']} entries (limit {limit}), "
            f"{store['evictions']} evictions",
        )


def render(data: dict[str, Any], console: Console | None = None) -> None:
    """Print the summary table, first-call facts and warnings."""
    console = console or Console()
    m = data["metrics"]
    load = data.get("load") or {}
    dec = m["decode_tps"]
    speed = f"{dec['mean']:.1f} tok/s" if dec else "-"
    if dec and dec["n"] > 1:
        speed += f" [{dec['ci95_low']:.1f}, {dec['ci95_high']:.1f}] over {dec['n']} batches"
    if m["stream_tps"]:
        speed += f"; per stream {m['stream_tps']:.1f} tok/s"
    title = f"infermeter run: {load.get('model', '?')} on {load.get('device', '?')} ({load.get('dtype', '?')})"
    t = Table(title=title, show_lines=False)
    t.add_column("metric", style="bold")
    t.add_column("value")
    t.add_row("1 output speed (decode TPS)", speed)
    t.add_row("2 time to first token", _dist(m["ttft_s"]))
    t.add_row("3 context load (TTFT vs prompt)", _context(m["context_load"]))
    t.add_row("4 peak memory", _memory(m["memory"]))
    t.add_row("5 batch efficiency", _batch(m["batch_efficiency"]))
    t.add_row("6 accuracy", _accuracy(m["accuracy"]))
    if m.get("image_inputs"):
        t.add_row("image inputs", _images(m["image_inputs"]))
    skipped = (data.get("workload") or {}).get("skipped")
    if skipped:
        t.add_row("bad items skipped", f"{skipped} (--skip-bad; each reason under 'workload' in report.json)")
    t.add_row("TPOT", _dist(m["tpot_s"]))
    t.add_row("ITL (pooled gaps)", _dist(m["itl_s"]))
    t.add_row("E2E latency", _dist(m["e2e_s"]))
    thr = m["output_throughput"]
    req = m["requests"]
    t.add_row(
        "output throughput",
        "-" if thr is None else f"{thr:.1f} tok/s ({req['output_tokens']} tokens, {req['ok']}/{req['total']} requests)",
    )
    cache_rows(t, m)
    fc = data.get("first_call")
    if fc:
        t.add_row(
            "first call / steady",
            f"{_ms(fc['first_call_s'])} / {_ms(fc['steady_call_s'])} "
            f"(warm-up overhead {_ms(fc['overhead_s'])}, excluded)",
        )
    t.add_row("model load", f"{load.get('load_s', 0):.1f} s, {load.get('parameters', 0) / 1e6:.1f} M params")
    console.print(t)
    for w in data.get("warnings", []):
        console.print(f"[yellow]warning:[/] {for_console(w)}")  # may quote a server or a dataset
    if data.get("run_dir"):
        console.print(f"report: {data['run_dir']}/report.json")
