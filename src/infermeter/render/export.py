"""Tabular views of a report, and their CSV / Markdown / PNG exports.

``tables(report)`` is the one place that decides what a report's tables show; Markdown here and the
HTML page (``render/html.py``) both render these :class:`Table` objects, so the two never disagree.
``rows(report)`` is the numeric, machine-readable view behind ``to_csv``: one row per metric or curve
point, named by ``report_id`` (the results database's run id). Each report kind is one function per
view (``_TABLES``, ``_ROWS``); ``sweep`` lives in ``export_sweep.py``, ``load``'s extras in
``tables_load.py``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from infermeter.metrics import registry
from infermeter.render.ab_view import better, log_ci, variant_over_baseline, verdict_line
from infermeter.render.console_load import point_rows
from infermeter.render.console_sol import sol_lines
from infermeter.render.export_processes import process_rows, process_table
from infermeter.render.export_sweep import sweep_rows, sweep_tables
from infermeter.render.figure import save_png
from infermeter.render.plots import figures
from infermeter.render.tables import Table, gib, md_escape, md_table, ms, num
from infermeter.render.tables_load import load_extra_tables, load_rows
from infermeter.results.points import csv_safe as _cell
from infermeter.scenarios.compare_failure import failed_call_rows, failure_line

CSV_FIELDS = (
    "report_id", "kind", "section", "name", "n", "mean", "median", "p90", "p95", "p99", "ci95_low", "ci95_high", "unit",
)  # fmt: skip
_STATS = ("n", "mean", "median", "p90", "p95", "p99", "ci95_low", "ci95_high")


def _unit_fmt(metric: str) -> Any:
    return ms if (registry.unit(metric) or "s") == "s" else num


def _ci(d: dict[str, Any] | None, fmt: Any) -> str:
    """The 95% interval as shown: on the log scale for positive numbers (never below zero)."""

    if not d or d.get("ci95_low") is None or d.get("ci95_high") is None:  # no CI with < 2 units
        return "-"
    lo, hi = log_ci(d) or (d["ci95_low"], d["ci95_high"])
    return f"[{fmt(lo)}, {fmt(hi)}]"


def _mean_ci(d: dict[str, Any] | None, fmt: Any) -> str:
    """``mean [low, high]``; ``!`` marks a summary flagged unstable (stdev > 10% of the mean)."""
    if not d:
        return "-"
    ci = _ci(d, fmt)
    return f"{fmt(d['mean'])}{'' if ci == '-' else ' ' + ci}{' !' if d.get('unstable') else ''}"


def _log_mean_ci(d: dict[str, Any] | None, fmt: Any) -> str:
    """Like :func:`_mean_ci`, with the interval on the log scale (positive quantities, few rounds)."""

    if not d:
        return "-"
    lh = log_ci(d)
    ci = f" [{fmt(lh[0])}, {fmt(lh[1])}]" if lh else ""
    return f"{fmt(d['mean'])}{ci}{' !' if d.get('unstable') else ''}"


# -- run -------------------------------------------------------------------------------------------
_LATENCY = ("ttft_s", "tpot_s", "itl_s", "e2e_s", "decode_tps")


def _distributions() -> list[tuple[str, str, str]]:
    """(key, label, display unit) of every per-request distribution: the built-in ones, then any
    metric registered with a function of records (shown the same way, without code here)."""
    keys = [*_LATENCY, *(m.key for m in registry.extras())]
    out = []
    for k in keys:
        m = registry.get(k)
        label = m.title if m else k
        unit = (m.unit if m else "") or ""
        out.append((k, label, "ms" if unit == "s" else unit))
    return out


def _image_line(img: dict[str, Any] | None) -> list[list[str]]:
    """Vision-language runs: image tokens and preprocessing time (apart from prefill); none otherwise."""
    if not img or not img.get("requests_with_images"):
        return []
    pre, per = img.get("preprocess_s") or {}, img.get("image_tokens_per_prompt") or {}
    return [
        [
            "image inputs",
            f"{img['images']} images, {num(per.get('mean'))} image tokens per prompt, "
            f"preprocessing {ms(pre.get('median'))} ms median (not in TTFT)",
        ]
    ]


def _six(m: dict[str, Any], load: dict[str, Any]) -> list[list[str]]:
    """the six headline metrics, one line each, in the console's order."""
    ctx = (m.get("context_load") or {}).get("points", [])
    batch = m.get("batch_efficiency") or {}
    bpts = [
        f"b{p['batch_size']}: {num((p.get('throughput') or {}).get('mean'))} tok/s"
        + (f" ({p['efficiency']:.0%})" if p.get("efficiency") is not None else "")
        for p in batch.get("points", [])
    ]
    if batch.get("knee_batch_size"):
        bpts.append(f"knee at b{batch['knee_batch_size']:g}")
    acc = m.get("accuracy")
    peak = (m.get("memory") or {}).get("peak") or {}
    mem = f"RSS {gib(peak.get('rss'))} GiB"
    if peak.get("torch_allocated") is not None:
        mem = f"torch allocated {gib(peak['torch_allocated'])} GiB, " + mem
    ctx_line = "  ".join(f"{p['prompt_tokens']} tok: {ms(p['ttft']['mean'])} ms" for p in ctx) or "-"
    acc_ci = "" if not acc or acc.get("ci95_low") is None else f" [{acc['ci95_low']:.0%}, {acc['ci95_high']:.0%}]"
    acc_line = "-" if not acc else f"{acc['mean']:.1%} of {acc['n']}{acc_ci}"
    return [
        ["1 output speed (decode TPS)", _mean_ci(m.get("decode_tps"), num) + " tok/s"],
        ["2 time to first token", _mean_ci(m.get("ttft_s"), ms) + " ms"],
        ["3 context load (TTFT vs prompt)", ctx_line],
        ["4 peak memory", mem + f", weights {gib((m.get('memory') or {}).get('weights_bytes'))} GiB"],
        ["5 batch efficiency", "  ".join(bpts) or "-"],
        ["6 accuracy", acc_line],
        ["output throughput", num(m.get("output_throughput")) + " tok/s"],
        *sol_lines(m),  # roofline and energy
        *_image_line(m.get("image_inputs")),
        ["model / device / dtype", f"{load.get('model', '?')} / {load.get('device', '?')} / {load.get('dtype', '?')}"],
    ]


def _run_tables(r: dict[str, Any]) -> list[Table]:
    m = r.get("metrics") or {}
    out = [Table("summary", "six metrics", ["metric", "value"], _six(m, r.get("load") or {}))]
    lat = []
    for key, label, unit in _distributions():
        d, f = m.get(key), _unit_fmt(key)
        if d:
            lat.append([label, str(d["n"]), f(d["mean"]), _ci(d, f), f(d["median"]), f(d["p90"]), f(d["p99"]), unit])
    heads = ["metric", "n", "mean", "95% CI", "p50", "p90", "p99", "unit"]
    out.append(Table("latency", "distributions (dataset requests)", heads, lat, numeric=[False] + [True] * 6))
    ctx = (m.get("context_load") or {}).get("points", [])
    if ctx:
        rows = [
            [str(p["prompt_tokens"]), ms(p["ttft"]["mean"]), _ci(p["ttft"], ms), ms(p["ttft"]["p90"])]
            + [str(p["ttft"]["n"]), num(p.get("prefill_tokens_per_s"), 0)]
            for p in ctx
        ]
        heads = ["prompt tokens", "TTFT ms", "95% CI", "p90 ms", "n", "prefill tok/s"]
        out.append(Table("context", "context load: TTFT vs prompt length", heads, rows, numeric=[True] * 6))
    batch = m.get("batch_efficiency") or {}
    if batch.get("points"):
        rows = [
            [str(p["batch_size"]), _mean_ci(p.get("throughput"), num), num(p.get("efficiency"), 2)]
            + [_mean_ci(p.get("decode_tps"), num)]
            for p in batch["points"]
        ]
        knee = batch.get("knee_batch_size")
        note = f"knee at batch {knee:g}" if knee else "no knee: the curve stays close to straight"
        heads = ["batch size", "throughput tok/s [95% CI]", "efficiency", "decode tok/s"]
        out.append(Table("batch", "batch efficiency", heads, rows, note=note, numeric=[True] * 4))
    proc = process_table(r)  # run --processes N
    return out + ([proc] if proc else [])


# -- compare ---------------------------------------------------------------------------------------
_VARIANT_COLS: tuple[tuple[str, str], ...] = (
    ("decode_tps", "decode tok/s"),
    ("e2e_s", "E2E ms"),
    ("ttft_s", "TTFT ms"),
)
_VARIANT_COLS += (("first_call_s", "first call ms"), ("load_s", "load ms"))


def _compare_tables(r: dict[str, Any]) -> list[Table]:
    c = r.get("compare") or {}
    out = []
    if c.get("variants"):
        rows = []
        for name, v in c["variants"].items():
            s = v.get("summary") or {}
            mem = s.get("peak_memory") or {}
            cells = [_log_mean_ci(s.get(k), _unit_fmt(k)) for k, _ in _VARIANT_COLS]
            rows.append([name, *cells, gib(mem.get("torch_allocated") or mem.get("rss"))])
        heads = ["variant", *(h for _, h in _VARIANT_COLS), "peak GiB"]
        note = f"{c.get('rounds', '?')} rounds; mean [95% CI] over steady calls; ! = stdev above 10% of the mean"
        out.append(Table("variants", "variants", heads, rows, note=note, numeric=[False] + [True] * 6))
    if c.get("ratios"):
        rows = []
        for x in c["ratios"]:
            ratio, lo, hi = variant_over_baseline(x)  # always variant / baseline, whatever the direction
            rows.append(
                [x["metric"], better(x["metric"]), x["variant"], x["baseline"], num(ratio, 3)]
                + [f"[{num(lo, 3)}, {num(hi, 3)}]", str(x["n"])]
                + ["yes" if x["significant"] else "no", verdict_line(x)]
            )
        heads = ["metric", "better", "variant", "baseline", "ratio", "95% CI", "n", "significant", "verdict"]
        numeric = [False] * 4 + [True] * 3
        out.append(Table("ratios", "A/B ratios (variant / baseline)", heads, rows, numeric=numeric))
    for e in (c.get("inline") or {}).get("order_effects", []):
        out.append(Table("order", "inline: order effect", ["verdict"], [[e["verdict"]]]))
    if c.get("failed"):  # the variant whose worker failed: why, and the calls it had measured
        heads = ["call", "E2E ms", "TTFT ms", "decode tok/s", "failed requests"]
        note = failure_line(c["failed"])
        out.append(Table("failed", "failed variant", heads, failed_call_rows(c["failed"]), note=note))
    return out


# -- soak ------------------------------------------------------------------------------------------
def _soak_tables(r: dict[str, Any]) -> list[Table]:
    soak = r.get("soak") or {}
    configs = soak.get("configurations") or []
    at = list((soak.get("options") or {}).get("at") or [])
    rows, trends = [], []
    for c in configs:
        stable = {True: "yes", False: "NO", None: "?"}[c.get("stable")]
        last = c.get("last") or {}
        peak = c.get("peak") or {}
        cells = [ms(c.get("at", {}).get(str(k))) for k in at]
        last_cell = f"{ms(last.get('e2e_s'))} (#{last.get('call')})" if last else "-"
        rows.append([c["name"], *cells, last_cell, ms(c.get("steady_e2e_per_item_s")), gib(peak.get("bytes"))])
        rows[-1] += [peak.get("view", "-"), stable + (f" ({c['status']})" if c.get("status") != "complete" else "")]
        for key, s in (c.get("series") or {}).items():
            t = s.get("trend") or {}
            ci = t.get("slope_ci95") or [None, None]
            trends.append([c["name"], key, s.get("line", ""), _g(t.get("slope")), f"[{_g(ci[0])}, {_g(ci[1])}]"])
    heads = ["config", *(f"call {k} ms" for k in at), "last ms", "steady ms/item", "peak GiB", "peak view", "stable"]
    note = (soak.get("verdict") or {}).get("line", "")
    out = [Table("soak", "soak: E2E at chosen calls, peak memory, stability", heads, rows, note=note)]
    if trends:
        warm = (soak.get("options") or {}).get("warmup_calls", 0)
        note = f"the first {warm} calls are warm-up: shown in the plots, not in the trends"
        heads = ["config", "series", "verdict", "slope per call", "slope 95% CI"]
        out.append(Table("trends", "trends per call", heads, trends, note=note))
    return out


def _g(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def _sweep_tables(r: dict[str, Any]) -> list[Table]:

    return sweep_tables(r)


def _load_tables(r: dict[str, Any]) -> list[Table]:

    lr = r.get("load_run") or {}
    points = lr.get("points") or []
    slo = (lr.get("options") or {}).get("slo") or {}
    out = [Table("load", "load points", ["metric", *(p["profile"] for p in points)], point_rows(points, slo))]
    errors = [[reason, str(n)] for reason, n in (lr.get("errors_by_reason") or {}).items()]
    if errors:
        out.append(Table("errors", "errors by reason", ["reason", "requests"], errors))

    return out + load_extra_tables(r)


_TABLES = {
    "run": _run_tables,
    "compare": _compare_tables,
    "soak": _soak_tables,
    "sweep": _sweep_tables,
    "load": _load_tables,
}


def tables(report: dict[str, Any]) -> list[Table]:
    """The report's tables for display (HTML, Markdown); [] for kinds without tables yet."""
    fn = _TABLES.get(report.get("kind", ""))
    return fn(report) if fn else []


# -- numeric rows (CSV) ----------------------------------------------------------------------------
def _stat_row(section: str, name: str, d: dict[str, Any] | None, unit: str) -> dict[str, Any] | None:
    return None if not d else {"section": section, "name": name, "unit": unit, **{k: d.get(k) for k in _STATS}}


def _value_row(section: str, name: str, v: float | None, unit: str) -> dict[str, Any] | None:
    return None if v is None else {"section": section, "name": name, "unit": unit, "mean": v}


def _unit(metric: str) -> str:
    return registry.unit(metric) or "s"


def _run_rows(r: dict[str, Any]) -> list[dict[str, Any] | None]:
    m = r.get("metrics") or {}
    out = [_stat_row("latency", k, m.get(k), _unit(k)) for k, _, _ in _distributions()]
    out += [_value_row("throughput", k, m.get(k), "tok/s") for k in ("stream_tps", "output_throughput")]
    out.append(_stat_row("accuracy", "accuracy", m.get("accuracy"), "fraction"))
    for p in (m.get("context_load") or {}).get("points", []):
        out.append(_stat_row("context_load", f"ttft@{p['prompt_tokens']}", p["ttft"], "s"))
    batch = m.get("batch_efficiency") or {}
    for p in batch.get("points", []):
        b = p["batch_size"]
        out.append(_stat_row("batch_efficiency", f"throughput@b{b}", p.get("throughput"), "tok/s"))
        out.append(_stat_row("batch_efficiency", f"decode_tps@b{b}", p.get("decode_tps"), "tok/s"))
        out.append(_value_row("batch_efficiency", f"efficiency@b{b}", p.get("efficiency"), "ratio"))
    out.append(_value_row("batch_efficiency", "knee_batch_size", batch.get("knee_batch_size"), "batch"))
    img = m.get("image_inputs") or {}
    if img:
        out.append(_value_row("image_inputs", "image_tokens", img.get("image_tokens"), "tokens"))
        out.append(_stat_row("image_inputs", "image_tokens_per_prompt", img.get("image_tokens_per_prompt"), "tokens"))
        out.append(_stat_row("image_inputs", "image_load_s", img.get("load_s"), "s"))
        out.append(_stat_row("image_inputs", "image_preprocess_s", img.get("preprocess_s"), "s"))
    mem = m.get("memory") or {}
    for view, v in (mem.get("peak") or {}).items():
        if isinstance(v, (int, float)):
            out.append(_value_row("memory", f"peak_{view}", v, "bytes"))
    out.append(_value_row("memory", "weights_bytes", mem.get("weights_bytes"), "bytes"))
    for k, v in (r.get("first_call") or {}).items():
        if isinstance(v, (int, float)):
            out.append(_value_row("first_call", k, v, "s"))
    out += process_rows(r)  # run --processes N
    return out


def _compare_rows(r: dict[str, Any]) -> list[dict[str, Any] | None]:
    c = r.get("compare") or {}
    out: list[dict[str, Any] | None] = []
    for name, v in (c.get("variants") or {}).items():
        for key, d in (v.get("summary") or {}).items():
            if key == "peak_memory":
                out += [_value_row(f"variant:{name}", f"peak_{k}", b, "bytes") for k, b in (d or {}).items()]
            else:
                out.append(_stat_row(f"variant:{name}", key, d, _unit(key)))

    for x in c.get("ratios", []):
        ratio, lo, hi = variant_over_baseline(x)  # the row name says variant/baseline: so is the value
        d = {"n": x["n"], "mean": ratio, "ci95_low": lo, "ci95_high": hi}
        out.append(_stat_row("ratio", f"{x['metric']}:{x['variant']}/{x['baseline']}", d, "ratio"))
    failed = c.get("failed") or {}
    for k, call in enumerate(failed.get("calls") or [], 1):  # the failed variant's measured calls
        sec = f"failed:{failed['variant']}:round{failed['round'] + 1}"
        out += [_value_row(sec, f"{m}@call{k}", call.get(m), _unit(m)) for m in ("e2e_s", "ttft_s", "decode_tps")]
    return out


def _soak_rows(r: dict[str, Any]) -> list[dict[str, Any] | None]:
    out: list[dict[str, Any] | None] = []
    for c in (r.get("soak") or {}).get("configurations") or []:
        sec = f"config:{c['name']}"
        out += [_value_row(sec, f"e2e_s@call{k}", v, "s") for k, v in (c.get("at") or {}).items()]
        out.append(_value_row(sec, "steady_e2e_per_item_s", c.get("steady_e2e_per_item_s"), "s"))
        peak = c.get("peak") or {}
        out.append(_value_row(sec, f"peak_{peak.get('view', 'rss')}", peak.get("bytes"), "bytes"))
        for key, s in (c.get("series") or {}).items():
            t = s.get("trend") or {}
            lo, hi = (t.get("slope_ci95") or [None, None])[:2]
            unit = ("s" if key.endswith("_s") else "bytes") + "/call"
            d = {"n": t.get("n"), "mean": t.get("slope"), "ci95_low": lo, "ci95_high": hi}
            out.append(_stat_row(sec, f"{key}_slope", d if t.get("slope") is not None else None, unit))
    return out


def _sweep_rows(r: dict[str, Any]) -> list[dict[str, Any] | None]:

    return list(sweep_rows(r))


def _load_rows(r: dict[str, Any]) -> list[dict[str, Any] | None]:

    return load_rows(r)


_ROWS = {"run": _run_rows, "compare": _compare_rows, "soak": _soak_rows, "sweep": _sweep_rows, "load": _load_rows}


def rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Numeric rows (keys ``CSV_FIELDS``): one per metric or curve point; absent metrics are skipped."""
    kind = report.get("kind", "")
    fn = _ROWS.get(kind)
    found = [x for x in (fn(report) if fn else []) if x is not None]
    rid = Path(report["run_dir"]).name if report.get("run_dir") else None  # the results database's run id
    fixed = {"kind": kind, "report_id": rid}
    return [{f: x.get(f, fixed.get(f)) for f in CSV_FIELDS} for x in found]


def to_csv(report: dict[str, Any]) -> str:
    """The report's numeric rows as CSV (header ``CSV_FIELDS``; seconds, tok/s and bytes unscaled)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for row in rows(report):
        w.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


# -- Markdown --------------------------------------------------------------------------------------
def model_name(report: dict[str, Any]) -> str:
    """The model(s) a report measured, for headings."""
    if report.get("kind") == "compare":
        names = {((c or {}).get("model") or {}).get("name", "?") for c in (report.get("configs") or {}).values()}
        return ", ".join(sorted(names)) or "?"
    load = report.get("load") or {}
    return load.get("model") or ((report.get("config") or {}).get("model") or {}).get("name", "?")


def to_markdown(report: dict[str, Any]) -> str:
    """The report's header, tables and warnings as Markdown."""
    kind = report.get("kind", "?")
    lines = [f"## infermeter {md_escape(kind)}: {md_escape(model_name(report))}", ""]
    lines += [f"status: {md_escape(report.get('status', '?'))}", ""]
    if report.get("error"):
        lines += [f"error: {md_escape(report['error'])}", ""]
    for t in tables(report):
        lines += md_table(t)
    if report.get("warnings"):
        lines += ["### warnings", "", *(f"- {md_escape(w)}" for w in report["warnings"]), ""]
    return "\n".join(lines)


def write_pngs(report: dict[str, Any], directory: Path | str) -> list[Path]:
    """Write every figure of the report as ``<directory>/<figure name>.png``; returns the paths."""

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [save_png(spec.figure(), directory / f"{spec.name}.png") for spec in figures(report)]
