"""Console rendering of a run report: the six headline metrics first, details after."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from infermeter.core.redact import for_console
from infermeter.metrics import registry
from infermeter.metrics.glossary import label
from infermeter.render.ab_view import log_ci
from infermeter.render.console_sol import add_rows
from infermeter.render.export_processes import render_processes
from infermeter.render.layout import glossary_footer, table_or_stack


class _Rows:
    """Collects (metric, value) rows like a rich Table, so the layout is chosen once all are known."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def add_row(self, name: str, value: str = "") -> None:
        self.rows.append((name, value))


def _ms(s: float | None) -> str:
    return "-" if s is None else f"{1000 * s:.1f} ms"


def _gb(b: int | None) -> str:
    return "-" if b is None else f"{b / 2**30:.2f} GiB"


def units_text(d: dict[str, Any], what: str = "requests", unit: str = "batch") -> str:
    """How many values and independent units stand behind a summary: "n=8 requests in 1 batch"."""
    n, g = d["n"], d.get("units", d["n"])
    text = f"n={n} {what}" if g == n else f"n={n} {what} in {g} {unit}{'es' if unit.endswith('ch') and g != 1 else ''}"
    return text if g >= 2 else f"{text}, no CI: add --repeats"


def _dist(d: dict[str, Any] | None, unit_ms: bool = True, what: str = "requests") -> str:
    if not d:
        return "-"
    f = _ms if unit_ms else (lambda v: f"{v:.1f}")
    ci = ""
    if d.get("ci95_low") is not None:  # no CI without 2 independent units
        lo, hi = log_ci(d) or (d["ci95_low"], d["ci95_high"])  # positive numbers: never below zero
        ci = f"[{f(lo)}, {f(hi)}]".replace(" ms,", ",")
    pct = f"p50 {f(d['median'])}  p90 {f(d['p90'])}  p99 {f(d['p99'])}"
    return f"mean {f(d['mean'])} {ci}  {pct}  {units_text(d, what)}"


def _passes(d: dict[str, Any] | None) -> str:
    if not d:
        return ""
    if d.get("ci95_low") is None:
        return f"; {d['n']} pass, no CI: add --repeats"
    return f" [{d['ci95_low']:.1f}, {d['ci95_high']:.1f}] over {d['n']} passes"


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
        eff = f" ({p['efficiency']:.0%} of linear)" if p["efficiency"] is not None else ""
        pts.append(f"b{p['batch_size']}: {thr:.1f} tok/s{eff}" if thr else f"b{p['batch_size']}: -")
    knee = b.get("knee_batch_size")
    return "  ".join(pts) + (f"  knee at b{knee:g}" if knee else "  no clear knee")


def _context(c: dict[str, Any] | None) -> str:
    if not c:
        return "-"
    return "  ".join(f"{p['prompt_tokens']} tok: {_ms(p['ttft']['mean'])}" for p in c["points"])


def _accuracy(a: dict[str, Any] | None, data: dict[str, Any]) -> str:
    if not a:
        return "- (no references)"
    if a.get("ci95_low") is None:
        return f"{a['correct']:g}/{a['n']} = {a['mean']:.1%} (no CI: fewer than 2 units)" + accuracy_context(a, data)
    how = " bootstrap" if a.get("interval") == "bootstrap" else ""
    out = f"{a['correct']:g}/{a['n']} = {a['mean']:.1%}  (95%{how} CI {a['ci95_low']:.0%}-{a['ci95_high']:.0%})"
    return out + accuracy_context(a, data)


def accuracy_context(a: dict[str, Any], data: dict[str, Any]) -> str:
    """Why a small model's low score is expected, so that 0% does not read as "broken"."""
    params = (data.get("load") or {}).get("parameters") or 0
    workload = ((data.get("config") or {}).get("workload") or {}).get("kind", "")
    notes = " ".join((data.get("load") or {}).get("notes") or [])
    random = ((data.get("config") or {}).get("model") or {}).get("random_weights") or "random weights" in notes
    if a["mean"] >= 0.2 or not params:
        return ""
    if random:
        return "  random weights: a score near 0 is expected (this measures speed, not quality)"
    if params < 1e9:
        return (
            f"  expected for a {params / 1e6:.0f} M-parameter model on {workload or 'this set'} (near 0%); "
            "outputs and references are in report.json"
        )
    return ""


def _images(i: dict[str, Any]) -> str:
    tokens = i["image_tokens_per_prompt"]
    pre = i["preprocess_s"]
    share = f", {i['image_token_share']:.0%} of their prompt tokens" if i["image_token_share"] is not None else ""
    return (
        f"{i['images']} images in {i['requests_with_images']}/{i['requests']} prompts; "
        f"{tokens['mean']:.0f} image tokens per prompt (min {tokens['min']:g}, max {tokens['max']:g}{share}); "
        f"preprocessing {_ms(pre['mean'] if pre else None)} mean, p90 {_ms(pre['p90'] if pre else None)} "
        "(before t_send: not in TTFT)"
    )


def cache_rows(t: Any, m: dict[str, Any]) -> None:
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
    if dec and dec.get("ci95_low") is not None:
        lo, hi = log_ci(dec) or (dec["ci95_low"], dec["ci95_high"])
        speed += f" [{lo:.1f}, {hi:.1f}] over {dec['n']} batches"
    elif dec:
        speed += " (1 batch, no CI: add --repeats)"
    if m["stream_tps"]:
        speed += f"  per request {m['stream_tps']:.1f} tok/s (per-stream)"
    title = f"infermeter run: {load.get('model', '?')} on {load.get('device', '?')} ({load.get('dtype', '?')})"
    if data.get("processes"):  # run --processes N: this table is the first process's, the table after it all N
        title += f", process 1 of {data['processes']['n']}"
    t = _Rows()
    t.add_row("1 " + label("decode_tps"), speed)
    t.add_row("2 " + label("ttft_s"), _dist(m["ttft_s"]))
    t.add_row("3 " + label("context_load"), _context(m["context_load"]))
    t.add_row("4 peak memory", _memory(m["memory"]))
    t.add_row("5 " + label("batch_efficiency"), _batch(m["batch_efficiency"]))
    t.add_row("6 " + label("accuracy"), _accuracy(m["accuracy"], data))
    if m.get("image_inputs"):
        t.add_row("image inputs", _images(m["image_inputs"]))
    skipped = (data.get("workload") or {}).get("skipped")
    if skipped:
        t.add_row("bad items skipped", f"{skipped} (--skip-bad; each reason under 'workload' in report.json)")
    t.add_row(label("tpot_s"), _dist(m["tpot_s"]))
    t.add_row(label("itl_s"), _dist(m["itl_s"], what="gaps"))
    t.add_row(label("e2e_s"), _dist(m["e2e_s"]))
    for extra in registry.extras():  # metrics registered elsewhere: one generic row each
        if m.get(extra.key) is not None:
            t.add_row(extra.title, _dist(m[extra.key], unit_ms=extra.unit == "s"))
    thr = m["output_throughput"]
    req = m["requests"]
    t.add_row(
        label("output_throughput"),
        "-"
        if thr is None
        else f"{thr:.1f} tok/s  ({req['output_tokens']} tokens, {req['ok']}/{req['total']} requests"
        f"{' per pass' if req.get('passes', 1) > 1 else ''}; all tokens / wall time)"
        + _passes(m.get("output_throughput_passes")),
    )
    cache_rows(t, m)
    add_rows(t, m)  # roofline and energy
    fc = data.get("first_call")
    if fc:
        t.add_row(
            label("first_call"),
            f"first {_ms(fc['first_call_s'])}  later {_ms(fc['steady_call_s'])}  "
            f"(one-time overhead {_ms(fc['overhead_s'])}, excluded)",
        )
    t.add_row(label("load_s"), f"{load.get('load_s', 0):.1f} s, {load.get('parameters', 0) / 1e6:.1f} M params")
    table_or_stack(console, title, ["metric", "value"], t.rows, footer=glossary_footer())
    render_processes(data, console)  # run --processes N
    for w in data.get("warnings", []):
        console.print(f"[yellow]warning:[/] {for_console(w)}")
    if data.get("run_dir"):
        console.print(f"report: {data['run_dir']}/report.json")
