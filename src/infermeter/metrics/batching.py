"""Batch efficiency: how throughput scales with batch size.

efficiency(b) = throughput(b) / (b * throughput(1)); 1.0 is perfect scaling. Throughput here is
per-batch output throughput (prefill included), summarized over repeats; the curve's knee is where
adding requests stops paying off.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from infermeter import stats
from infermeter.core.records import RequestRecord
from infermeter.metrics.throughput import batch_decode_tps, batch_throughputs


def batch_curve(records: list[RequestRecord]) -> dict[str, Any] | None:
    """Throughput and decode TPS per batch size, efficiency vs batch 1, and the knee."""
    groups: dict[int, list[RequestRecord]] = defaultdict(list)
    for r in records:
        groups[r.batch_size].append(r)
    if not groups:
        return None
    points = []
    for b in sorted(groups):
        thr = stats.summarize(batch_throughputs(groups[b]))
        dec = stats.summarize(batch_decode_tps(groups[b]))
        points.append({"batch_size": b, "throughput": thr, "decode_tps": dec})
    base = next((p["throughput"].mean for p in points if p["batch_size"] == 1 and p["throughput"]), None)
    for p in points:
        thr = p["throughput"]
        p["efficiency"] = thr.mean / (p["batch_size"] * base) if base and thr else None
    xs = [p["batch_size"] for p in points if p["throughput"]]
    ys = [p["throughput"].mean for p in points if p["throughput"]]
    knee = stats.knee(xs, ys) if len(xs) >= 3 else None
    return {
        "points": [
            {
                "batch_size": p["batch_size"],
                "efficiency": p["efficiency"],
                "throughput": p["throughput"].to_dict() if p["throughput"] else None,
                "decode_tps": p["decode_tps"].to_dict() if p["decode_tps"] else None,
            }
            for p in points
        ],
        "knee_batch_size": knee,
    }
