"""Batch efficiency: how throughput scales with batch size.

efficiency(b) = throughput(b) / (b * throughput(1)); 1.0 is perfect scaling. Throughput here is
per-batch output throughput (prefill included), summarized over repeats; the curve's knee is where
adding requests stops paying off.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TypedDict

from infermeter import stats
from infermeter.core.records import RequestRecord
from infermeter.metrics.throughput import batch_decode_tps, batch_throughputs


class _Point(TypedDict):
    batch_size: int
    throughput: stats.Summary | None
    decode_tps: stats.Summary | None
    efficiency: float | None


def batch_curve(records: list[RequestRecord]) -> dict[str, Any] | None:
    """Throughput and decode TPS per batch size, efficiency vs batch 1, and the knee."""
    groups: dict[int, list[RequestRecord]] = defaultdict(list)
    for r in records:
        groups[r.batch_size].append(r)
    if not groups:
        return None
    points: list[_Point] = []
    for b in sorted(groups):
        thr = stats.summarize(batch_throughputs(groups[b]))
        dec = stats.summarize(batch_decode_tps(groups[b]))
        points.append({"batch_size": b, "throughput": thr, "decode_tps": dec, "efficiency": None})
    base = next((t.mean for p in points if p["batch_size"] == 1 and (t := p["throughput"])), None)
    for p in points:
        thr = p["throughput"]
        p["efficiency"] = thr.mean / (p["batch_size"] * base) if base and thr else None
    xs = [p["batch_size"] for p in points if p["throughput"]]
    ys = [t.mean for p in points if (t := p["throughput"])]
    knee = stats.knee(xs, ys) if len(xs) >= 3 else None
    return {
        "points": [
            {
                "batch_size": p["batch_size"],
                "efficiency": p["efficiency"],
                "throughput": t.to_dict() if (t := p["throughput"]) else None,
                "decode_tps": d.to_dict() if (d := p["decode_tps"]) else None,
            }
            for p in points
        ],
        "knee_batch_size": knee,
    }
