"""What happened when, in a load run: per-point time spans and a compact per-request timeline.

All pure functions of the records (and the server-metric samples). Times in the report are seconds
from the run's first send, so the client's requests, the measured windows and the server's metrics
share one axis in the timeline plot.
"""

from __future__ import annotations

from typing import Any

from infermeter import stats
from infermeter.core.records import RequestRecord

MAX_TIMELINE = 4000  # requests drawn in the timeline (evenly thinned beyond that; the JSONL has all)
PHASES = {"warmup:load": "warmup", "load": "measured", "cooldown:load": "cooldown"}


def _end(r: RequestRecord) -> float:
    return r.token_times[-1] if r.token_times else r.t_send


def point_spans(by_point: dict[int, list[RequestRecord]]) -> list[tuple[float, float]]:
    """(first send, last end) of each point, in point order (perf_counter seconds)."""
    return [(min(r.t_send for r in rs), max(_end(r) for r in rs)) for _, rs in sorted(by_point.items())]


def timeline(by_point: dict[int, list[RequestRecord]], t0: float) -> dict[str, Any]:
    """Per point: its span and measured window; per request (thinned): send, TTFT, E2E, phase, ok."""
    points = []
    for i, rs in sorted(by_point.items()):
        measured = [r for r in rs if r.phase == "load"]
        win = [min(r.t_send for r in measured) - t0, max(_end(r) for r in measured) - t0] if measured else None
        start, end = min(r.t_send for r in rs) - t0, max(_end(r) for r in rs) - t0
        points.append({"point": i, "profile": rs[0].extra.get("profile"), "span": [start, end], "window": win})
    recs = sorted((r for rs in by_point.values() for r in rs), key=lambda r: r.t_send)
    step = max(1, -(-len(recs) // MAX_TIMELINE))
    rows = []
    for r in recs[::step]:
        ttft = r.token_times[0] - r.t_send if r.token_times else None
        rows.append([round(r.t_send - t0, 6), None if ttft is None else round(ttft, 6), round(_end(r) - r.t_send, 6),
                     PHASES.get(r.phase, r.phase), r.ok])  # fmt: skip
    return {
        "points": points,
        "requests": rows,
        "request_columns": ["t_send", "ttft", "e2e", "phase", "ok"],
        "thinned": step,
    }


def _pct(vals: list[float]) -> dict[str, Any] | None:
    s = stats.summarize(vals)
    return None if s is None else {"n": s.n, "median": s.median, "p99": s.p99, "max": s.max}


SCHEDULE_BOUND_S = 0.005  # a request sent later than this after its scheduled time missed its schedule
LATE_SHARE_MAX = 0.05  # more than this share of late requests: the report warns
SCHEDULED = ("constant", "poisson", "ramp", "trace")  # profiles whose requests have scheduled times


def client_lag(records: list[RequestRecord]) -> dict[str, Any]:
    """The client's own delays over measured requests: late sends, and request write to response headers.

    ``send_lag``: how late each request left against its due time (its scheduled offset under a rate
    profile, the moment its slot freed under a concurrency profile). ``to_headers``: from writing the
    request to the server's response headers (network + server queueing + prefill start; with a
    streaming server the headers come before the first token).
    """
    measured = [r for r in records if r.phase == "load"]
    lag = [r.extra["send_lag_s"] for r in measured if isinstance(r.extra.get("send_lag_s"), float)]
    hdr = [r.extra["t_headers"] - r.t_send for r in measured if isinstance(r.extra.get("t_headers"), float)]
    late = sum(x > SCHEDULE_BOUND_S for x in lag)
    return {"send_lag_s": _pct(lag), "to_headers_s": _pct(hdr), "late_share": late / len(lag) if lag else None}


def schedule_warning(label: str, client: dict[str, Any] | None) -> str | None:
    """A line when a scheduled profile (a rate, a ramp, a trace) sent over 5% of its requests more than
    ``SCHEDULE_BOUND_S`` after their scheduled times: the arrivals the server saw were not the plan."""
    share = (client or {}).get("late_share")
    if label.partition(":")[0] not in SCHEDULED or share is None or share <= LATE_SHARE_MAX:
        return None
    lag = (client or {}).get("send_lag_s") or {}
    return (
        f"{label}: {share:.0%} of requests left more than {SCHEDULE_BOUND_S * 1e3:g} ms after their scheduled "
        f"time (send lag p99 {(lag.get('p99') or 0) * 1e3:.1f} ms, max {(lag.get('max') or 0) * 1e3:.1f} ms): "
        "the arrival schedule was not kept (try --client-procs 2 or a lower rate)"
    )


def lag_warning(label: str, lag: dict[str, Any] | None, ttft: dict[str, Any] | None) -> str | None:
    """A line when the client's send lag exceeds 1% of TTFT (at the median or at p99)."""
    if not lag or not ttft or not ttft.get("median"):
        return None
    for q in ("median", "p99"):
        if (lag.get(q) or 0) > 0.01 * (ttft.get(q) or 0):
            return (
                f"{label}: the client sent requests late by {lag['median'] * 1e3:.2f} ms p50 / {lag['p99'] * 1e3:.2f} "
                f"ms p99, over 1% of TTFT ({ttft['median'] * 1e3:.1f} ms p50): the client is busy "
                "(try --client-procs 2 or a lower rate)"
            )
    return None
