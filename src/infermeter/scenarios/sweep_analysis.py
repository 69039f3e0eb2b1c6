"""What a sweep's points say: per-point metrics, per-knob effects, Pareto fronts (pure functions).

Every input is a plain dict from the sweep report, so a report can be re-analysed without running
anything. A point's metrics come from its ``run`` report (the same summaries ``infermeter run``
prints, docs/metrics.md); nothing here measures.
"""

from __future__ import annotations

from typing import Any

from infermeter.metrics import registry
from infermeter.metrics.registry import HIGHER
from infermeter.scenarios.sweep_stats import annotate

#: The per-point metrics, in table order: the six headline metrics first, then the deployment view
#: (time per sample, total tokens, time per token, throughput), then the latency details. Labels,
#: units and directions come from the metric registry.
POINT_KEYS = (
    "decode_tps", "ttft_s", "context_ttft_s", "peak_memory_bytes", "batch_efficiency", "accuracy",
    "per_sample_s", "output_tokens", "time_per_token_s", "output_throughput", "e2e_s", "tpot_s", "tokens_per_j",
)  # fmt: skip


def _entry(key: str) -> tuple[str, str, str]:
    m = registry.get(key)
    assert m is not None, key  # every point key is registered in metrics/catalog.py
    return m.label, m.unit, m.better


# key -> (label, unit, better)
METRICS: dict[str, tuple[str, str, str]] = {k: _entry(k) for k in POINT_KEYS}

# name -> (x metric, y metric): each front is the set of points no other point beats on both axes.
FRONTS = {
    "accuracy_vs_decode_tps": ("decode_tps", "accuracy"),
    "memory_vs_throughput": ("peak_memory_bytes", "output_throughput"),
    "energy_vs_latency": ("e2e_s", "tokens_per_j"),
}


def _mean(d: dict[str, Any] | None) -> float | None:
    return None if not d else d.get("mean")


def point_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """The flat metrics of one point from its run report (``None`` where the run has no such number).

    The deployment table: time per sample and time per token are the main pass's wall window (first send
    to last token, what output throughput divides by) per request and per output token, so
    ``time_per_token_s = 1 / output_throughput``. Peak memory is the main pass's window (the knobs act
    there; the probe phases use their own shapes): torch allocated on CUDA, else the RSS peak.
    """
    m = report.get("metrics") or {}
    req = m.get("requests") or {}
    thr = m.get("output_throughput")
    tokens = req.get("output_tokens")
    ok = req.get("ok") or 0
    window = tokens / thr if thr and tokens else None
    mem = m.get("memory") or {}
    peak = (mem.get("phases") or {}).get("dataset") or mem.get("peak") or {}
    view = "torch_allocated" if peak.get("torch_allocated") is not None else "rss"
    ctx = (m.get("context_load") or {}).get("points") or []
    batch = (m.get("batch_efficiency") or {}).get("points") or []
    acc = m.get("accuracy") or {}
    return {
        "decode_tps": _mean(m.get("decode_tps")),
        "ttft_s": _mean(m.get("ttft_s")),
        "context_ttft_s": _mean(ctx[-1].get("ttft")) if ctx else None,
        "context_prompt_tokens": ctx[-1]["prompt_tokens"] if ctx else None,
        "peak_memory_bytes": peak.get(view),
        "peak_memory_view": view if peak.get(view) is not None else None,
        "batch_efficiency": batch[-1].get("efficiency") if batch else None,
        "batch_efficiency_at": batch[-1]["batch_size"] if batch else None,
        "accuracy": acc.get("mean"),
        "accuracy_n": acc.get("n"),
        "per_sample_s": window / ok if window and ok else None,
        "output_tokens": tokens,
        "requests": req.get("total"),
        "time_per_token_s": 1.0 / thr if thr else None,
        "output_throughput": thr,
        "e2e_s": _mean(m.get("e2e_s")),
        "tpot_s": _mean(m.get("tpot_s")),
        "tokens_per_j": ((m.get("energy") or {}).get("dataset") or {}).get("tokens_per_j"),
    }


def relative(value: float | None, base: float | None) -> float | None:
    """``(value - base) / |base|``; None when either is missing or the base is 0."""
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base)


def _find(points: list[dict[str, Any]], want: dict[str, Any]) -> dict[str, Any] | None:
    for p in points:
        knobs = p.get("knobs") or {}
        if all(k in knobs and knobs[k] == v for k, v in want.items()):
            return p
    return None


def knob_effects(knobs: list[dict[str, Any]], points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each knob, each metric across its values with every other knob at its baseline.

    ``knobs``: ``[{"key", "values", "baseline"}]`` (``baseline`` an index into ``values``); ``points``:
    sweep points with ``knobs`` (key -> value), ``status`` and ``metrics``. ``change`` is relative to
    the knob's baseline value (docs: the default when it is among the values, else the first).
    A value whose point failed or is missing keeps its row, with its status and no numbers.
    """
    planned = [p for p in points if p.get("planned", True)]
    base = {k["key"]: k["values"][k["baseline"]] for k in knobs}
    out = []
    for knob in knobs:
        key = knob["key"]
        rows = []
        for v in knob["values"]:
            p = _find(planned, {**base, key: v})
            ok = p is not None and p.get("status") == "complete"
            rows.append(
                {
                    "value": v,
                    "point": p["id"] if p else None,
                    "status": p.get("status") if p else "missing",
                    "error": p.get("error") if p else None,
                    "metrics": {m: (p["metrics"].get(m) if ok and p else None) for m in METRICS},
                }
            )
        ref = rows[knob["baseline"]]["metrics"]
        for r in rows:
            r["change"] = {m: relative(r["metrics"][m], ref[m]) for m in METRICS}
        out.append({"key": key, "baseline": knob["values"][knob["baseline"]], "rows": rows})
    return out


def pareto_front(
    points: list[dict[str, Any]], x: str, y: str, x_better: str = HIGHER, y_better: str = HIGHER
) -> list[str]:
    """Ids of the completed points that no other point beats on both ``x`` and ``y``, in order of ``x``.

    ``b`` dominates ``a`` when it is at least as good on both metrics and strictly better on one;
    equal points do not dominate each other (both stay). Points missing either number are left out.
    """
    sx = 1.0 if x_better == HIGHER else -1.0
    sy = 1.0 if y_better == HIGHER else -1.0
    cand = [
        (p["id"], p["metrics"][x], p["metrics"][y])
        for p in points
        if p.get("status") == "complete"
        and p.get("planned", True)
        and p["metrics"].get(x) is not None
        and p["metrics"].get(y) is not None
    ]

    def dominates(b: tuple[str, float, float], a: tuple[str, float, float]) -> bool:
        ge = sx * b[1] >= sx * a[1] and sy * b[2] >= sy * a[2]
        return ge and (sx * b[1] > sx * a[1] or sy * b[2] > sy * a[2])

    front = [a for a in cand if not any(dominates(b, a) for b in cand)]
    return [pid for pid, _, _ in sorted(front, key=lambda t: (t[1], t[2]))]


def fronts(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Both Pareto fronts (:data:`FRONTS`), with the directions they were judged in."""
    out = {}
    for name, (x, y) in FRONTS.items():
        xb, yb = METRICS[x][2], METRICS[y][2]
        considered = [
            p["id"]
            for p in points
            if p.get("status") == "complete"
            and p.get("planned", True)
            and None not in (p["metrics"].get(x), p["metrics"].get(y))
        ]
        front = pareto_front(points, x, y, xb, yb)
        out[name] = {"x": x, "y": y, "x_better": xb, "y_better": yb, "considered": considered, "front": front}
    return out


def analyze(sweep: dict[str, Any]) -> None:
    """Fill ``effects`` and ``pareto`` of a sweep section from its knobs and points (in place)."""
    sweep["effects"] = knob_effects(sweep.get("knobs") or [], sweep.get("points") or [])
    sweep["pareto"] = fronts(sweep.get("points") or [])
    counts: dict[str, int] = {}
    for p in sweep.get("points") or []:
        if p.get("planned", True):
            counts[p["status"]] = counts.get(p["status"], 0) + 1
    sweep["counts"] = counts
    annotate(sweep, list(METRICS))  # sweep --replicates N: effect CIs, significance of dominance
