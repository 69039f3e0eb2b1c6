"""GuideLLM's ``benchmarks.json``: each benchmark read as a load point for side-by-side tables.

GuideLLM keeps each metric as a distribution by request status; the successful requests' one is
taken. Its ``inter_token_latency_ms`` is what vLLM and infermeter call TPOT (time per output token
after the first); its ``time_per_output_token_ms`` includes the first token and has no column here.
"""

from __future__ import annotations

from typing import Any


def is_guidellm(obj: Any) -> bool:
    """A GuideLLM report: ``{"benchmarks": [{... "metrics": {...}}]}``."""
    b = obj.get("benchmarks") if isinstance(obj, dict) else None
    return isinstance(b, list) and bool(b) and isinstance(b[0], dict) and "metrics" in b[0]


def _dist(metrics: dict[str, Any], name: str, scale: float) -> dict[str, Any] | None:
    d = (metrics.get(name) or {}).get("successful")
    if not isinstance(d, dict) or d.get("mean") is None:
        return None
    pct = d.get("percentiles") or {}
    out = {"mean": d["mean"] * scale, "median": (d.get("median") or pct.get("p50") or 0) * scale}
    for key in ("p50", "p90", "p95", "p99", "p999"):
        if pct.get(key) is not None:
            out["p99.9" if key == "p999" else key] = pct[key] * scale
    out.setdefault("p90", None)
    out.setdefault("p99", None)
    return out


def _strategy(b: dict[str, Any]) -> str:
    cfg = b.get("config") or b.get("args") or {}
    s = cfg.get("strategy") or b.get("strategy") or {}
    kind = s.get("type_") or s.get("type") or "?"
    value = s.get("rate") or s.get("streams") or s.get("max_concurrency")
    return f"{kind}:{value:g}" if isinstance(value, (int, float)) else str(kind)


def _count(b: dict[str, Any], status: str) -> int | None:
    for holder in ((b.get("scheduler_metrics") or {}).get("requests_made"), b.get("request_totals")):
        if isinstance(holder, dict) and holder.get(status) is not None:
            return int(holder[status])
    return None


def as_points(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Every benchmark of the report as a load point (seconds)."""
    points = []
    for b in obj["benchmarks"]:
        m = b.get("metrics") or {}
        ok = _count(b, "successful")
        rate = ((m.get("requests_per_second") or {}).get("successful") or {}).get("mean")
        out_tps = ((m.get("output_tokens_per_second") or {}).get("successful") or {}).get("mean")
        points.append(
            {
                "profile": _strategy(b),
                "requests": {"sent": _count(b, "total") or ok, "ok": ok},
                "request_rate": rate,
                "output_throughput": out_tps,
                "ttft_s": _dist(m, "time_to_first_token_ms", 1e-3),
                "tpot_s": _dist(m, "inter_token_latency_ms", 1e-3),
                "itl_s": None,
                "e2e_s": _dist(m, "request_latency", 1.0),
            }
        )
    return points
