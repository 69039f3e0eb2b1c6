"""Results-database measurements of a run's roofline and energy sections (names in docs/metrics.md)."""

from __future__ import annotations

from typing import Any


def _row(name: str, unit: str, value: Any, d: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """One measurement; ``d`` a share/summary with a CI when there is one."""
    if value is None:
        return None
    v = float(value)
    d = d or {}
    return {"name": name, "unit": unit, "value": v, "n": d.get("n", 1), "mean": v, "median": v,
            "ci95_low": d.get("ci95_low"), "ci95_high": d.get("ci95_high"), "samples": []}  # fmt: skip


def sol_measurements(m: dict[str, Any]) -> list[dict[str, Any] | None]:
    """``roofline.mbu``, ``roofline.mfu``, ``roofline.decode_bandwidth``, ``roofline.mbu@<b>``,
    ``energy.j_per_token``, ``energy.tokens_per_j``, ``energy.j_per_request``, ``energy.avg_w``,
    ``energy.peak_w``, ``energy.j_per_token@<b>``."""
    out: list[dict[str, Any] | None] = []
    r = m.get("roofline") or {}
    for key in ("mbu", "mfu"):
        share = r.get(key)
        if share:
            out.append(_row(f"roofline.{key}", "fraction", share["mean"], share))
    bw = r.get("decode_bandwidth")
    if bw:
        out.append(_row("roofline.decode_bandwidth", "bytes/s", bw["mean"], bw))
    for p in r.get("batches") or []:
        if p.get("mbu"):
            out.append(_row(f"roofline.mbu@{p['batch_size']}", "fraction", p["mbu"]["mean"], p["mbu"]))
    e = m.get("energy") or {}
    d = e.get("dataset") or {}
    out += [
        _row("energy.j_per_token", "J", d.get("j_per_token")),
        _row("energy.tokens_per_j", "tok/J", d.get("tokens_per_j")),
    ]
    out += [_row("energy.j_per_request", "J", d.get("j_per_request")), _row("energy.avg_w", "W", d.get("avg_w"))]
    out.append(_row("energy.peak_w", "W", e.get("peak_w")))
    for b in e.get("by_batch_size") or []:
        out.append(_row(f"energy.j_per_token@{b['batch_size']}", "J", b.get("j_per_token")))
    return out
