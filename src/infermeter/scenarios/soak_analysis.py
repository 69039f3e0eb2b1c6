"""Soak analysis: pure functions of the per-call rows in ``calls.jsonl`` (see :mod:`.soak`).

Each series (E2E, TTFT, TPOT; RSS, torch allocated/reserved, NVML process memory after each call and
its cleanup) is judged by :func:`infermeter.stats.trend.analyze` over the calls after the warm-up.
The soak's own rule on top: an upward step smaller than ``min_step`` of the series' level is
reported but does not make a configuration unstable (allocators grow in chunks: bounded, not a leak).
"""

from __future__ import annotations

import json
import math
import statistics
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infermeter.scenarios.soak_worker import CALLS_FILE
from infermeter.stats.trend import MIN_N, Trend, analyze

if TYPE_CHECKING:
    from infermeter.config import RunConfig
    from infermeter.scenarios.soak import SoakOptions

MiB = 2**20

#: series key -> (label, unit, scale); every series is lower-is-better.
SERIES: dict[str, tuple[str, str, float]] = {
    "e2e_s": ("E2E", "ms", 1e3),
    "ttft_s": ("TTFT", "ms", 1e3),
    "tpot_s": ("TPOT", "ms", 1e3),
    "rss": ("RSS", "MiB", 1 / MiB),
    "torch_allocated": ("torch allocated", "MiB", 1 / MiB),
    "torch_reserved": ("torch reserved", "MiB", 1 / MiB),
    "nvml_process": ("NVML process", "MiB", 1 / MiB),
}
LATENCY = ("e2e_s", "ttft_s", "tpot_s")


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Every per-call row of a soak (missing file: none; a torn last line is skipped)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # the worker died mid-line
            continue
    return rows


def series_of(rows: list[dict[str, Any]]) -> dict[str, tuple[list[int], list[float]]]:
    """``key -> (calls, values)`` for each series measured in these rows (absent views left out)."""
    out = {}
    for key in SERIES:
        calls, vals = [], []
        for r in rows:
            v = r.get(key) if key in LATENCY else (r.get("memory") or {}).get(key)
            if v is not None:
                calls.append(r["call"])
                vals.append(float(v))
        if vals:
            out[key] = (calls, vals)
    return out


def _fmt(x: float, unit: str) -> str:
    return f"{x:+.1f} {unit}" if abs(x) >= 0.1 or x == 0 else f"{x:+.2g} {unit}"


def judge(key: str, calls: list[int], values: list[float], opts: SoakOptions) -> dict[str, Any]:
    """The trend of one series, the soak verdict drawn from it, and a one-line description."""
    label, unit, scale = SERIES[key]
    with warnings.catch_warnings():
        # scipy warns about precision on near-constant series (memory often is); the answer is right.
        warnings.simplefilter("ignore", RuntimeWarning)
        t: Trend = analyze(values, alpha=opts.alpha, min_relative_slope=opts.min_relative_slope)
    verdict, line = t.verdict, t.describe(label, unit, scale)
    if t.verdict == "step" and t.step_at is not None and t.step_size is not None:
        level = abs(statistics.median(values))
        rel = t.step_size / level if level > 0 else math.copysign(math.inf, t.step_size)
        size, after = _fmt(t.step_size * scale, unit), calls[t.step_at - 1]
        if abs(rel) < opts.min_step:
            verdict = "stable"
            line = (
                f"{label} stable over {t.n} calls (one step of {size} after call {after}, {rel:+.1%} of the level, "
                f"below the {opts.min_step:.0%} threshold)"
            )
        else:
            p = "p < 0.001" if (t.step_p or 0) < 0.001 else f"p = {t.step_p:.2g}"
            line = f"{label} step {size} ({rel:+.0%}) after call {after} ({p})"
    decay = verdict == "increasing" or (verdict == "step" and (t.step_size or 0) > 0)
    return {"verdict": verdict, "decay": decay, "line": line, "trend": t.to_dict()}


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def _peak(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Largest per-call peak of each view; the headline is torch allocated on CUDA, else RSS."""
    views = {}
    for k in ("torch_allocated", "torch_reserved", "nvml_process", "rss"):
        vals = [r["peak"][k] for r in rows if r.get("peak") and r["peak"].get(k) is not None]
        views[k] = max(vals) if vals else None
    view = "torch_allocated" if views["torch_allocated"] is not None else "rss"
    return {"view": view, "bytes": views[view], **views}


def summarize(name: str, strategy: str, batch_size: int, rows: list[dict[str, Any]], opts: SoakOptions) -> dict:
    """One configuration's table row, trends and raw rows."""
    rows = sorted(rows, key=lambda r: r["call"])
    trend_rows = [r for r in rows if r["call"] > opts.warmup_calls]
    series = {k: judge(k, c, v, opts) for k, (c, v) in series_of(trend_rows).items()}
    by_call = {r["call"]: r.get("e2e_s") for r in rows}
    steady = _median([r["e2e_s"] for r in trend_rows if r.get("e2e_s") is not None])
    cleanups = [r["cleanup"]["seconds"] for r in rows if r.get("cleanup")]
    leaked = [r["retained_kv_bytes"] for r in rows if r.get("retained_kv_bytes")]
    return {
        "name": name,
        "strategy": strategy,
        "batch_size": batch_size,
        "calls": len(rows),
        "trend_calls": len(trend_rows),
        "at": {str(c): by_call.get(c) for c in opts.at},
        "last": {"call": rows[-1]["call"], "e2e_s": rows[-1].get("e2e_s")} if rows else None,
        "steady_e2e_s": steady,
        "steady_e2e_per_item_s": steady / batch_size if steady is not None else None,
        "peak": _peak(rows),
        # None: too few calls after the warm-up for any verdict (the trend tests say "too few to tell").
        "stable": not any(s["decay"] for s in series.values()) if len(trend_rows) >= MIN_N else None,
        "series": series,
        "cleanup_s_median": _median(cleanups),
        "recreations": sum(bool(r.get("recreated")) for r in rows),
        "retained_kv_bytes_per_call": _median(leaked),
        "rows": rows,
    }


def overall(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Which configurations decayed, which stayed stable, and the fastest stable one (per item)."""
    measured = [s for s in summaries if s["calls"]]
    stable = [s for s in measured if s["stable"] is True]
    unstable = [s for s in measured if s["stable"] is False]
    unknown = [s for s in measured if s["stable"] is None]
    # A configuration whose worker died is reported, but not recommended.
    timed = [s for s in stable if s["steady_e2e_per_item_s"] is not None and s.get("status") != "partial"]
    best = min(timed, key=lambda s: s["steady_e2e_per_item_s"]) if timed else None
    parts = []
    if unstable:
        parts.append("decays: " + ", ".join(f"{s['name']} ({_worst(s)})" for s in unstable))
    if stable:
        parts.append("stable: " + ", ".join(s["name"] for s in stable))
    elif unstable:
        parts.append("no configuration is stable")
    if unknown:
        parts.append("too few calls to tell: " + ", ".join(s["name"] for s in unknown))
    if best is not None:
        parts.append(f"fastest stable: {best['name']} ({1000 * best['steady_e2e_per_item_s']:.1f} ms/item)")
    return {
        "stable": [s["name"] for s in stable],
        "unstable": [s["name"] for s in unstable],
        "too_few_calls": [s["name"] for s in unknown],
        "fastest_stable": best["name"] if best else None,
        "line": "; ".join(parts),
    }


def _worst(summary: dict[str, Any]) -> str:
    return " and ".join(SERIES[k][0] for k, s in summary["series"].items() if s["decay"])


def assemble(
    run_dir: Path, configs: list[tuple[str, str, RunConfig]], opts: SoakOptions, metas: dict[str, Any]
) -> dict[str, Any]:
    """The ``soak`` section of the report, rebuilt from ``calls.jsonl`` (so a failed run keeps its calls)."""
    rows = read_rows(run_dir / CALLS_FILE)
    summaries = []
    for name, strategy, cfg in configs:
        mine = [r for r in rows if r.get("config") == name]
        s = summarize(name, strategy, cfg.workload.batch_size, mine, opts)
        s["worker"] = metas.get(name)
        s["status"] = "complete" if name in metas else ("partial" if mine else "not run")
        summaries.append(s)
    return {"options": asdict(opts), "configurations": summaries, "verdict": overall(summaries)}


def soak_warnings(cfg: RunConfig, opts: SoakOptions, summaries: list[dict[str, Any]]) -> list[str]:
    """What a reader must know before trusting the table."""
    out = []
    if opts.leak:
        out.append("leak=true: calibration workload that keeps every call's output and KV cache alive on purpose")
    if cfg.measure.isolation == "inline":
        out.append("isolation=inline: every configuration ran in the calling process (debugging, less trustworthy)")
    few = [s["name"] for s in summaries if s["calls"] and s["trend_calls"] < MIN_N]
    if few:
        out.append(
            f"fewer than {MIN_N} calls after the {opts.warmup_calls} warm-up calls in {', '.join(few)}: "
            "too few to tell (stable: ?)"
        )
    errors = sum(r.get("errors", 0) for s in summaries for r in s["rows"])
    if errors:
        out.append(f"{errors} requests failed during the soak")
    return out
