"""Figures of a report (run, compare, soak), built with matplotlib from the report dict alone.

``figures(report)`` returns lazy :class:`FigureSpec` objects: a stable name (also the PNG file name), a
title, and a function that draws the figure. Only figures whose data is present are listed, so a caller
never gets an empty plot. Each report kind is one builder function in ``_BUILDERS`` (``sweep``: per-knob
effects and Pareto fronts); a future ``kind: "load"`` (rate vs latency) adds one entry.

Figures are drawn on ``matplotlib.figure.Figure`` with an Agg canvas attached directly (no pyplot, no
``matplotlib.use``): no window is ever opened, no global figure registry leaks figures, and a user's
interactive backend (Jupyter) is left alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from infermeter.core.records import RequestRecord
from infermeter.metrics.latency import itl, tpot, ttft, values
from infermeter.render.figure import _MS, FigureSpec, _new, blank
from infermeter.render.plot_axes import honest_ylim, label_points, percent_axis
from infermeter.render.plots_load import load_figures
from infermeter.scenarios.sweep import fmt_value
from infermeter.scenarios.sweep_analysis import METRICS

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def figures(report: dict[str, Any]) -> list[FigureSpec]:
    """The figures a report supports, in display order; [] for kinds without plots yet."""
    builder = _BUILDERS.get(report.get("kind", ""))
    return builder(report) if builder else []


# -- helpers ---------------------------------------------------------------------------------------
def _cdf(ax: Any, vals: list[float], label: str) -> None:
    """Empirical CDF in ms with the median marked; an empty series says so instead of vanishing."""
    ax.set_title(label)
    ax.set_xlabel("ms")
    if not vals:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        return
    xs = np.sort(np.asarray(vals)) * _MS
    ax.step(xs, np.arange(1, len(xs) + 1) / len(xs), where="post")
    ax.axvline(float(np.median(xs)), color="gray", ls=":", lw=1)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("fraction ≤ x")
    ax.text(0.98, 0.05, f"n={len(xs)}", ha="right", transform=ax.transAxes)


def _err(d: dict[str, Any] | None, scale: float = 1.0) -> tuple[float, float, float]:
    """(mean, lower error, upper error) for error bars; a CI below 0 is clipped, not drawn negative."""
    if not d:
        return math.nan, 0.0, 0.0
    mean = d["mean"] * scale
    has_ci = d.get("ci95_low") is not None and d.get("ci95_high") is not None  # none with < 2 units
    lo = max(d["ci95_low"] * scale, 0.0) if has_ci else mean
    hi = d["ci95_high"] * scale if has_ci else mean
    return mean, max(mean - lo, 0.0), max(hi - mean, 0.0)


# -- run -------------------------------------------------------------------------------------------
def _run_records(report: dict[str, Any]) -> list[RequestRecord]:
    return [RequestRecord.from_dict(r) for r in report.get("records", []) if r.get("phase") == "dataset"]


def _latency_cdfs(report: dict[str, Any]) -> Figure:
    recs = _run_records(report)
    ok = [r for r in recs if r.ok]
    fig, axes = _new(3, (9.0, 3.0))
    _cdf(axes[0], values(ttft, recs), "TTFT")
    _cdf(axes[1], values(tpot, recs), "TPOT")
    _cdf(axes[2], itl(ok), "ITL (pooled gaps)")
    return fig


def _batch_curve(report: dict[str, Any]) -> Figure:
    curve = report["metrics"]["batch_efficiency"]
    pts = curve["points"]
    bs = [p["batch_size"] for p in pts]
    fig, (ax,) = _new()
    thr = [_err(p["throughput"]) for p in pts]
    ax.errorbar(bs, [t[0] for t in thr], yerr=[[t[1] for t in thr], [t[2] for t in thr]], marker="o", capsize=3)
    ax.set_xscale("log", base=2)
    ax.set_xticks(bs, [str(b) for b in bs])
    ax.set_xlabel("batch size")
    ax.set_ylabel("output throughput (tok/s)", color="C0")
    eff_ax = ax.twinx()
    eff = [100 * p["efficiency"] if p["efficiency"] is not None else math.nan for p in pts]
    eff_ax.plot(bs, eff, marker="s", color="C1", ls="--")
    eff_ax.set_ylabel("efficiency vs batch 1 (%)", color="C1")
    eff_ax.set_ylim(0, max([110.0] + [e for e in eff if not math.isnan(e)]))
    knee = curve.get("knee_batch_size")
    if knee:
        ax.axvline(knee, color="red", ls=":", lw=1.5)
        ax.text(knee, 0.95, f" knee b{knee:g}", color="red", va="top", transform=ax.get_xaxis_transform())
    return fig


def _context_curve(report: dict[str, Any]) -> Figure:
    pts = report["metrics"]["context_load"]["points"]
    xs = [p["prompt_tokens"] for p in pts]
    ys = [_err(p["ttft"], _MS) for p in pts]
    fig, (ax,) = _new()
    ax.errorbar(xs, [y[0] for y in ys], yerr=[[y[1] for y in ys], [y[2] for y in ys]], marker="o", capsize=3)
    ax.set_xlabel("prompt tokens")
    ax.set_ylabel("TTFT, mean with 95% CI (ms)")
    ax.set_ylim(bottom=0)
    return fig


def _run_figures(report: dict[str, Any]) -> list[FigureSpec]:
    m = report.get("metrics") or {}
    out = []
    if _run_records(report):
        out.append(FigureSpec("run-latency-cdf", "TTFT / TPOT / ITL distributions", lambda: _latency_cdfs(report)))
    if (m.get("batch_efficiency") or {}).get("points"):
        title = "throughput and efficiency vs batch size"
        out.append(FigureSpec("run-batch-curve", title, lambda: _batch_curve(report)))
    if (m.get("context_load") or {}).get("points"):
        out.append(FigureSpec("run-context-curve", "TTFT vs prompt length", lambda: _context_curve(report)))
    return out


# -- compare ---------------------------------------------------------------------------------------
def _ratio_forest(report: dict[str, Any]) -> Figure:
    ratios = report["compare"]["ratios"]
    fig, (ax,) = _new(1, (7.0, 0.5 + 0.6 * len(ratios) + 1.2))
    ys = list(range(len(ratios)))[::-1]
    positive = all(r["ci95_low"] > 0 for r in ratios)
    for y, r in zip(ys, ratios, strict=True):
        color = "C2" if r["significant"] else "gray"
        lo, hi = r["ci95_low"], r["ci95_high"]
        ax.errorbar(r["speedup"], y, xerr=[[r["speedup"] - lo], [hi - r["speedup"]]], fmt="o", color=color, capsize=4)
    ax.axvline(1.0, color="black", lw=1)
    if positive:  # ratios are multiplicative: 0.5x and 2x sit symmetric around 1 on a log scale
        ax.set_xscale("log")
        from matplotlib.ticker import FuncFormatter, NullFormatter

        # plain tick labels: the default log labels are mathtext, which _RC turns off for data safety
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(-0.7, len(ratios) - 0.3)
    # One axis, one direction: the speedup is > 1 when the variant is better, whatever the metric.
    ax.set_yticks(ys, [f"{r['metric']}: {r['variant']} vs {r['baseline']}" for r in ratios])
    ax.set_xlabel("times better for the variant, 95% CI\n(> 1: variant better; 1.0: no difference; green: significant)")
    return fig


def _steady_values(variant: dict[str, Any], metric: str) -> list[float]:
    """Per-call values after each round's first measured call (the calls the steady summary uses)."""
    return [c[metric] for r in variant.get("rounds", []) for c in r.get("calls", [])[1:] if c.get(metric) is not None]


def _tps_distribution(report: dict[str, Any]) -> Figure:
    variants = report["compare"]["variants"]
    names = list(variants)
    data = [_steady_values(variants[n], "decode_tps") for n in names]
    fig, (ax,) = _new(1, (7.0, 1.0 + 0.6 * len(names) + 1.0))
    pos = list(range(1, len(names) + 1))
    ax.boxplot([d or [math.nan] for d in data], positions=pos, orientation="horizontal", widths=0.5)
    rng = np.random.default_rng(0)  # fixed jitter: the same report draws the same picture
    for p, d in zip(pos, data, strict=True):
        ax.scatter(d, p + rng.uniform(-0.15, 0.15, len(d)), s=12, alpha=0.7, zorder=3)
    ax.set_yticks(pos, names)
    ax.set_xlabel("steady decode tok/s per call (first call of each round excluded)")
    return fig


def _compare_figures(report: dict[str, Any]) -> list[FigureSpec]:
    c = report.get("compare") or {}
    out = []
    if c.get("ratios"):
        out.append(FigureSpec("compare-ratios", "A/B ratios with 95% CIs", lambda: _ratio_forest(report)))
    if any(_steady_values(v, "decode_tps") for v in (c.get("variants") or {}).values()):
        title = "steady decode speed per variant"
        out.append(FigureSpec("compare-decode-tps", title, lambda: _tps_distribution(report)))
    return out


# -- soak ------------------------------------------------------------------------------------------
def _soak_calls(report: dict[str, Any]) -> Figure:
    soak = report["soak"]
    warm = soak["options"].get("warmup_calls", 0)
    fig, (lat, mem) = _new(2, (9.0, 3.4))
    for i, c in enumerate(cfg for cfg in soak["configurations"] if cfg.get("rows")):
        view = (c.get("peak") or {}).get("view", "rss")
        calls = [r["call"] for r in c["rows"]]
        e2e = [r["e2e_s"] * _MS if r.get("e2e_s") is not None else math.nan for r in c["rows"]]
        used = [(r.get("memory") or {}).get(view) for r in c["rows"]]
        mib = [u / 2**20 if u is not None else math.nan for u in used]
        color = f"C{i % 10}"
        lat.plot(calls, e2e, marker="o", ms=3, color=color, label=c["name"])
        mem.plot(calls, mib, marker="o", ms=3, color=color, label=f"{c['name']} ({view})")
    for ax, unit in ((lat, "ms"), (mem, "MiB")):  # a flat series is drawn against zero, not as a cliff
        honest_ylim(ax, [float(v) for line in ax.get_lines() for v in line.get_ydata()], unit)
    for ax in (lat, mem):
        if warm:  # warm-up calls are shown but kept out of the trends: shade them
            ax.axvspan(0.5, warm + 0.5, color="gray", alpha=0.15, label="warm-up")
        ax.set_xlabel("call")
        ax.legend(fontsize=7)
    lat.set_ylabel("E2E (ms)")
    mem.set_ylabel("memory after call (MiB)")
    return fig


def _soak_figures(report: dict[str, Any]) -> list[FigureSpec]:
    configs = (report.get("soak") or {}).get("configurations") or []
    if not any(c.get("rows") for c in configs):
        return []
    return [FigureSpec("soak-calls", "E2E latency and memory per call", lambda: _soak_calls(report))]


# -- sweep -----------------------------------------------------------------------------------------
_EFFECT_METRICS = ("decode_tps", "ttft_s", "per_sample_s", "peak_memory_bytes", "accuracy", "output_throughput")


def _sweep_effects(report: dict[str, Any]) -> Figure:
    """One panel per knob: each metric's change (%) from the knob's baseline, the other knobs at theirs."""

    effects = report["sweep"]["effects"]
    cols = min(len(effects), 3)
    rows = math.ceil(len(effects) / cols)
    fig = blank((3.4 * cols + 0.6, 2.9 * rows + 0.6))
    for i, eff in enumerate(effects):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.grid(True, alpha=0.3)
        xs = list(range(len(eff["rows"])))
        for j, m in enumerate(_EFFECT_METRICS):
            ys = [r["change"][m] for r in eff["rows"]]
            if all(y is None for y in ys):
                continue
            # One axis, one direction: "% better" flips the sign of lower-is-better metrics (time, memory).
            sign = -100.0 if METRICS[m][2] == "lower" else 100.0
            ax.plot(xs, [math.nan if y is None else sign * y for y in ys], marker="o", ms=4, color=f"C{j}",
                    label=METRICS[m][0].split(" (")[0])  # fmt: skip
        ax.axhline(0, color="black", lw=0.8)
        ticks = [
            fmt_value(r["value"]) + ("" if r["status"] == "complete" else f"\n({r['status']})") for r in eff["rows"]
        ]
        ax.set_xticks(xs, ticks)
        ax.set_xlabel(eff["key"].rsplit(".", 1)[-1])
        ax.set_ylabel("% better than the baseline (up = better)")
        if i == 0:
            ax.legend(fontsize=8, loc="best", framealpha=0.8)
    return fig


def _sweep_pareto(report: dict[str, Any]) -> Figure:
    """Each front over every measured point: grey points, the front in red, points named by id."""
    fronts = report["sweep"]["pareto"]
    points = {p["id"]: p for p in report["sweep"]["points"]}
    fig, axes = _new(len(fronts), (4.6 * len(fronts), 3.6))
    scale = {"peak_memory_bytes": (2**-30, "peak memory (GiB)"), "decode_tps": (1.0, "decode tok/s")}
    scale.update(accuracy=(100.0, "accuracy (%)"), output_throughput=(1.0, "output tok/s (TPS)"))
    for ax, f in zip(axes, fronts.values(), strict=True):
        (sx, xl), (sy, yl) = scale[f["x"]], scale[f["y"]]
        pts = [points[i] for i in f["considered"]]
        ax.scatter(
            [p["metrics"][f["x"]] * sx for p in pts], [p["metrics"][f["y"]] * sy for p in pts], color="gray", s=18
        )
        xs, ys = [p["metrics"][f["x"]] * sx for p in pts], [p["metrics"][f["y"]] * sy for p in pts]
        label_points(ax, xs, ys, [p["id"] for p in pts])  # coincident points share one label
        front = [points[i] for i in f["front"]]
        ax.plot([p["metrics"][f["x"]] * sx for p in front], [p["metrics"][f["y"]] * sy for p in front], color="C3",
                marker="o", ms=5, label="Pareto front")  # fmt: skip
        ax.ticklabel_format(useOffset=False)  # peak memories a few bytes apart: no "1e-5+0.61" offset text
        if f["y"] == "accuracy":
            percent_axis(ax)
        else:
            honest_ylim(ax, ys)
        honest_ylim(ax, xs, "GiB" if f["x"] == "peak_memory_bytes" else "", axis="x")
        ax.set_xlabel(f"{xl} ({f['x_better']} is better)")
        ax.set_ylabel(f"{yl} ({f['y_better']} is better)")
        ax.legend(fontsize=7)
    return fig


def _sweep_figures(report: dict[str, Any]) -> list[FigureSpec]:
    sweep = report.get("sweep") or {}
    out = []
    if any(any(v is not None for r in e["rows"] for v in r["change"].values()) for e in sweep.get("effects") or []):
        title = "effect of each knob (the others at their baselines)"
        out.append(FigureSpec("sweep-effects", title, lambda: _sweep_effects(report)))
    if any(f["considered"] for f in (sweep.get("pareto") or {}).values()):
        title = "Pareto fronts: accuracy vs decode speed, throughput vs peak memory"
        out.append(FigureSpec("sweep-pareto", title, lambda: _sweep_pareto(report)))
    return out


_BUILDERS: dict[str, Callable[[dict[str, Any]], list[FigureSpec]]] = {
    "run": _run_figures,
    "compare": _compare_figures,
    "soak": _soak_figures,
    "sweep": _sweep_figures,
    "load": lambda r: _load_figures(r),
}


def _load_figures(report: dict[str, Any]) -> list[FigureSpec]:

    return load_figures(report)
