"""Figures of a load report: latency vs rate, throughput vs concurrency, goodput vs rate, a timeline.

Everything is drawn from the report dict (``load_run``): its per-point numbers, its timeline (per
request send time, TTFT and E2E, thinned to a few thousand) and the server's scraped metrics. A
figure whose data is absent is not listed (one point still draws: a dot per series).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from infermeter.render.figure import _MS, FigureSpec, _new, blank

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_LAT = (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("itl_s", "ITL"), ("e2e_s", "E2E"))
_QS = (("median", "p50", "-"), ("p90", "p90", "--"), ("p95", "p95", "-."), ("p99", "p99", ":"))
_PHASE_COLOR = {"warmup": "#999999", "measured": "C0", "cooldown": "#bbbbbb"}


def _v(x: float | None, scale: float = 1.0) -> float:
    """A value to plot: None is a gap (NaN); a real 0 stays 0."""
    return np.nan if x is None else x * scale


def _rate(p: dict[str, Any]) -> float | None:
    return p.get("request_rate") or p.get("achieved_rate")


def _in_flight(p: dict[str, Any]) -> float | None:
    """A point's concurrency: the profile's, else Little's law (completed rate x mean E2E)."""
    if p.get("concurrency"):
        return float(p["concurrency"])
    e2e = (p.get("e2e_s") or {}).get("mean")
    return _rate(p) * e2e if _rate(p) and e2e else None


def _by_x(points: list[dict[str, Any]], x: Any) -> list[dict[str, Any]]:
    return sorted((p for p in points if x(p) is not None), key=x)


def _latency(points: list[dict[str, Any]]) -> Figure:
    pts = _by_x(points, _rate)
    fig, axes = _new(4, (11.0, 3.2))
    for ax, (key, name) in zip(axes, _LAT, strict=True):
        xs = [_rate(p) for p in pts]
        for q, label, ls in _QS:
            ys = [_v((p.get(key) or {}).get(q), _MS) for p in pts]
            ax.plot(xs, ys, ls=ls, marker="o", ms=3, label=label)
        ax.set_title(name)
        ax.set_xlabel("completed req/s")
        ax.set_ylabel("ms")
    axes[0].legend(fontsize=7)
    return fig


def _throughput(points: list[dict[str, Any]]) -> Figure:
    pts = _by_x(points, _in_flight)
    fig, (ax,) = _new(1)
    xs = [_in_flight(p) for p in pts]
    ax.plot(xs, [_v(p.get("output_throughput")) for p in pts], marker="o", label="output tok/s")
    ax.set_xlabel("requests in flight (profile, or rate x mean E2E)")
    ax.set_ylabel("output tok/s")
    twin = ax.twinx()
    twin.plot(xs, [_v(_rate(p)) for p in pts], marker="s", color="C1", label="req/s")
    twin.set_ylabel("completed req/s")
    ax.legend(loc="upper left", fontsize=7)
    twin.legend(loc="lower right", fontsize=7)
    return fig


def _goodput(run: dict[str, Any]) -> Figure:
    pts = _by_x([p for p in run["points"] if p.get("goodput")], _rate)
    fig, (ax,) = _new(1)
    xs = [_rate(p) for p in pts]
    ax.plot(xs, xs, color="#cccccc", ls=":", label="all requests good")
    ax.plot(xs, [_v(p["goodput"].get("requests_per_s")) for p in pts], marker="o", label="goodput req/s")
    ax.set_xlabel("completed req/s")
    ax.set_ylabel("good req/s")
    twin = ax.twinx()
    twin.plot(xs, [_v(p["goodput"].get("fraction"), 100) for p in pts], marker="s", color="C2", alpha=0.6,
              label="% meeting SLO")  # fmt: skip
    twin.set_ylim(0, 105)
    twin.set_ylabel("% of requests meeting the SLO")
    search = run.get("slo_search") or {}
    if search.get("best_rate"):
        ax.axvline(search["best_rate"], color="C3", lw=1)
        ax.annotate(f"highest rate meeting the SLO: {search['best_rate']:.3g}", (search["best_rate"], 0),
                    xytext=(4, 8), textcoords="offset points", fontsize=7, color="C3")  # fmt: skip
    ax.legend(loc="upper left", fontsize=7)
    return fig


def _shade(ax: Any, points: list[dict[str, Any]]) -> None:
    """Grey out each point's warm-up and cool-down, and name the points along the top."""
    for p in points:
        (a, b), w = p["span"], p.get("window")
        if w is None:
            ax.axvspan(a, b, color="#eeeeee", lw=0)
            continue
        ax.axvspan(a, w[0], color="#e6e6e6", lw=0)
        ax.axvspan(w[1], b, color="#e6e6e6", lw=0)


_CHAR_SHARE = 0.0065  # the width of one 7-point character as a share of the timeline's width


def _label_rows(points: list[dict[str, Any]]) -> list[int]:
    """A text row per point name, so names of short points side by side go one under the other."""
    ends = [p["span"][1] for p in points if p.get("span")]
    width = (max(ends) - min(p["span"][0] for p in points)) if ends else 0.0
    free: list[float] = []  # per row: where its last name ends (seconds)
    rows = []
    for p in points:
        start = p["span"][0]
        end = start + len(p["profile"] or "") * _CHAR_SHARE * width
        row = next((i for i, f in enumerate(free) if f <= start), len(free))
        free[row : row + 1] = [end]  # a free row is reused; none free: a new row below
        rows.append(row)
    return rows


def _timeline(run: dict[str, Any]) -> Figure:
    tl = run["timeline"]
    sm = run.get("server_metrics") or {}
    series = sm.get("series") if sm.get("available") else None
    rows = 3 if series else 2
    fig = blank((11.0, 2.4 * rows))
    from matplotlib.collections import LineCollection

    axes = fig.subplots(rows, 1, sharex=True)
    reqs = tl["requests"]
    bars, colors = [], []
    for i, (t, ttft, e2e, phase, ok) in enumerate(reqs):
        first = t + (ttft if ttft is not None else e2e)
        bars += [[(t, i), (first, i)], [(first, i), (t + e2e, i)]]
        colors += ["C1", _PHASE_COLOR.get(phase, "C0") if ok else "C3"]
    ax = axes[0]
    _shade(ax, tl["points"])
    ax.add_collection(LineCollection(bars, colors=colors, linewidths=1.2))
    ax.set_ylim(-1, max(1, len(reqs)))
    ax.set_ylabel("request")
    ax.set_title("requests: waiting for the first token (orange), streaming (blue), failed (red); "
                 "warm-up / cool-down shaded", fontsize=8)  # fmt: skip
    for p, row in zip(tl["points"], _label_rows(tl["points"]), strict=True):
        ax.annotate(p["profile"] or "", (p["span"][0], 1), xycoords=("data", "axes fraction"), fontsize=7,
                    xytext=(2, -10 - 9 * row), textcoords="offset points")  # fmt: skip
    ax = axes[1]
    _shade(ax, tl["points"])
    ts = [(r[0] + (r[1] or 0), r[1] * _MS) for r in reqs if r[1] is not None]
    if ts:
        ax.scatter([a for a, _ in ts], [b for _, b in ts], s=4, color="C1")
    ax.set_ylabel("TTFT ms")
    if series:
        _server(axes[2], series, tl["points"])
    axes[-1].set_xlabel("seconds since the first request")
    return fig


def _server(ax: Any, series: dict[str, Any], points: list[dict[str, Any]]) -> None:
    _shade(ax, points)
    t = series["t"]
    for key, color in (("running", "C0"), ("waiting", "C3")):
        if key in series:
            ax.step(t, [np.nan if v is None else v for v in series[key]], where="post", color=color, label=key)
    counts = [v for key in ("running", "waiting") for v in series.get(key, []) if v is not None]
    ax.set_ylim(0, max(1.0, *counts) * 1.15 if counts else 1.0)  # the highest step stays inside the panel
    ax.set_ylabel("server requests")
    ax.legend(loc="upper left", fontsize=7)
    if "kv_cache_usage" in series:
        twin = ax.twinx()
        kv = [np.nan if v is None else 100 * v for v in series["kv_cache_usage"]]
        twin.plot(t, kv, color="C2", label="KV cache %")
        twin.set_ylim(0, 105)
        twin.set_ylabel("KV cache used %")
        twin.legend(loc="upper right", fontsize=7)


def load_figures(report: dict[str, Any]) -> list[FigureSpec]:
    """The figures of a load report whose data is present, in display order."""
    run = report.get("load_run") or {}
    points = [p for p in run.get("points") or [] if p.get("requests", {}).get("ok")]
    out = []
    if any(_rate(p) for p in points):
        out.append(FigureSpec("load-latency", "latency vs completed rate (p50, p90, p95, p99)",
                              lambda: _latency(points)))  # fmt: skip
    if any(_in_flight(p) and p.get("output_throughput") for p in points):
        out.append(FigureSpec("load-throughput", "throughput vs concurrency", lambda: _throughput(points)))
    if any(p.get("goodput") and _rate(p) for p in points):
        out.append(FigureSpec("load-goodput", "goodput vs rate", lambda: _goodput({**run, "points": points})))
    if (run.get("timeline") or {}).get("requests"):
        out.append(FigureSpec("load-timeline", "timeline: requests, TTFT and the server's metrics",
                              lambda: _timeline(run)))  # fmt: skip
    return out
