"""Energy metrics: joules per output token and per request, average and peak power, per phase.

Inputs are the worker's energy windows (``groups[*].energy``: joules and seconds of one measured
window, from the device's cumulative counter, see ``core/energy.py``) and the records of the
generate() calls inside each window (``groups[*].batch_ids``). Warm-up calls run before a window
opens and are not counted. The counter measures the whole device, idle power included, which is
what a deployment pays for.
"""

from __future__ import annotations

from typing import Any

from infermeter.core.records import RequestRecord


def window(group: dict[str, Any], records: list[RequestRecord]) -> dict[str, Any] | None:
    """One window's energy per output token and per request (None without a reading)."""
    e = group.get("energy")
    if not e:
        return None
    lo, hi = group.get("batch_ids") or (0, 0)
    inside = [r for r in records if lo <= r.batch_id < hi and not r.phase.startswith("warmup")]
    tokens = sum(r.output_tokens for r in inside)
    out = {
        "phase": group["phase"],
        "shape": group.get("shape"),
        "source": e["source"],
        "joules": e["joules"],
        "seconds": e["seconds"],
        "avg_w": e["avg_w"],
        "peak_w": e["peak_w"],
        "output_tokens": tokens,
        "requests": len(inside),
        "j_per_token": e["joules"] / tokens if tokens else None,
        "j_per_request": e["joules"] / len(inside) if inside else None,
    }
    out["tokens_per_j"] = 1 / out["j_per_token"] if out["j_per_token"] else None
    return out


def energy_summary(
    groups: list[dict[str, Any]], records: list[RequestRecord], unavailable: str | None = None
) -> dict[str, Any]:
    """The energy section of a run report: the dataset phase's figures and one row per batch size."""
    rows = [w for g in groups if (w := window(g, records)) is not None]
    if not rows:
        return {"available": False, "reason": unavailable or "no energy reading"}
    dataset = next((w for w in rows if w["phase"] == "dataset"), None)
    by_batch = [
        {
            "batch_size": w["shape"]["batch_size"],
            **{k: w[k] for k in ("j_per_token", "tokens_per_j", "avg_w", "peak_w")},
        }
        for w in rows
        if w["phase"] == "batch"
    ]
    return {
        "available": True,
        "source": rows[0]["source"],
        "dataset": dataset,
        "by_batch_size": by_batch,
        "peak_w": max((w["peak_w"] for w in rows if w["peak_w"] is not None), default=None),
        "windows": rows,
    }
