"""All metrics of a run, computed from its records and the worker's memory windows.

This is the one place that decides which records feed which metric: ``dataset`` records feed the
per-request latency, throughput and accuracy numbers; ``context`` records the context-load curve;
``batch`` records the batch-efficiency curve. Warm-up records never feed anything.
"""

from __future__ import annotations

from typing import Any

from infermeter import stats
from infermeter.core.memory import MemoryPeak, merge_peaks
from infermeter.core.records import RequestRecord
from infermeter.metrics import registry
from infermeter.metrics.batching import batch_curve
from infermeter.metrics.cache import cache_summary, input_repetition, repetition_warning
from infermeter.metrics.context import context_curve
from infermeter.metrics.images import image_inputs
from infermeter.metrics.throughput import output_throughput, stream_speed


def _s(vals: list[float]) -> dict[str, Any] | None:
    s = stats.summarize(vals)
    return s.to_dict() if s else None


def accuracy(records: list[RequestRecord]) -> dict[str, Any] | None:
    """Mean score over scored items, with the per-item scores kept in the records."""
    scores = [r.score for r in records if r.score is not None]
    if not scores:
        return None
    n = len(scores)
    mean = sum(scores) / n
    # Wilson interval: honest for tiny n and for 0% / 100%, unlike the normal approximation.
    z = 1.959964
    centre = (mean + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((mean * (1 - mean) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return {
        "n": n,
        "correct": sum(scores),
        "mean": mean,
        "ci95_low": centre - half,
        "ci95_high": centre + half,
    }


def memory(groups: list[dict[str, Any]], weights_bytes: int) -> dict[str, Any]:
    """Peak memory per phase and overall; activations/KV estimated as peak allocated - weights."""
    by_phase: dict[str, list[MemoryPeak]] = {}
    for g in groups:
        by_phase.setdefault(g["phase"], []).append(MemoryPeak(**g["memory"]))
    phases = {p: merge_peaks(v).to_dict() for p, v in by_phase.items()}  # type: ignore[union-attr]
    overall = merge_peaks([p for v in by_phase.values() for p in v])
    out: dict[str, Any] = {"weights_bytes": weights_bytes, "phases": phases}
    if overall is not None:
        out["peak"] = overall.to_dict()
        if overall.torch_allocated is not None:
            out["activations_kv_bytes"] = overall.torch_allocated - weights_bytes
    return out


def compute(records: list[RequestRecord], groups: list[dict[str, Any]], weights_bytes: int) -> dict[str, Any]:
    """The metrics section of a run report."""
    main = [r for r in records if r.phase == "dataset"]
    ok = [r for r in main if r.ok]
    # Every registered metric with a function of records (TTFT, TPOT, ITL, E2E, decode TPS, and any
    # metric registered elsewhere) is summarized the same way.
    per_record = {m.key: _s(m.samples(main)) for m in registry.computed() if m.samples is not None}
    return {
        "requests": {
            "total": len(main),
            "ok": len(ok),
            "errors": sum(not r.ok for r in main),  # an error, or no token at all
            "short_outputs": sum(r.short for r in records if not r.phase.startswith("warmup")),
            "prompt_tokens": sum(r.prompt_tokens for r in main),
            "output_tokens": sum(r.output_tokens for r in main),
        },
        **per_record,
        "stream_tps": stream_speed(main),
        "output_throughput": output_throughput(main),
        "context_load": context_curve([r for r in records if r.phase == "context"]),
        "batch_efficiency": batch_curve([r for r in records if r.phase == "batch"]),
        "accuracy": accuracy(main),
        "image_inputs": image_inputs(main),
        "memory": memory(groups, weights_bytes),
        "inputs": input_repetition(main),
        "response_cache": cache_summary(main),
    }


def warnings(metrics: dict[str, Any]) -> list[str]:
    """Lines saying where a number should not be trusted."""
    out = []

    def check(name: str, d: dict[str, Any] | None) -> None:
        if d and d.get("unstable"):
            out.append(f"{name}: stdev is {100 * d['cv']:.1f}% of the mean (n={d['n']}); numbers may be unreliable")

    check("decode TPS", metrics["decode_tps"])
    for p in (metrics["context_load"] or {}).get("points", []):
        check(f"TTFT at {p['prompt_tokens']} prompt tokens", p["ttft"])
    for p in (metrics["batch_efficiency"] or {}).get("points", []):
        check(f"throughput at batch {p['batch_size']}", p["throughput"])
    repeated = repetition_warning(metrics.get("inputs"))
    if repeated:
        out.append(repeated)
    req = metrics["requests"]
    if req["short_outputs"]:
        out.append(f"{req['short_outputs']} forced-length outputs came back shorter than asked")
    if req["errors"]:
        out.append(f"{req['errors']} requests failed")
    return out
