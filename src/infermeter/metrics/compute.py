"""All metrics of a run, computed from its records and the worker's memory windows.

This is the one place that decides which records feed which metric: ``dataset`` records feed the
per-request latency, throughput and accuracy numbers; ``context`` records the context-load curve;
``batch`` records the batch-efficiency curve. Warm-up records never feed anything.

Units of analysis (metrics/units.py): latency percentiles are over requests, their means' CIs over
independent units (generate() calls in-process, requests over HTTP); decode TPS has one value per
batch; output throughput one value per pass over the dataset; accuracy is over the first pass's
items (a repeated pass re-asks the same questions).
"""

from __future__ import annotations

from typing import Any

from infermeter import stats
from infermeter.core.memory import MemoryPeak, merge_peaks
from infermeter.core.records import RequestRecord
from infermeter.metrics import registry
from infermeter.metrics.batching import batch_curve
from infermeter.metrics.cache import cache_summary, input_repetition, repetition_warning
from infermeter.metrics.checks import mismatch_warning, prompt_token_mismatch, summary_warnings
from infermeter.metrics.context import context_curve
from infermeter.metrics.images import image_inputs
from infermeter.metrics.latency import e2e, tpot, ttft
from infermeter.metrics.throughput import batch_decode_tps, output_throughput, stream_speed
from infermeter.metrics.units import by_pass, counts, per_gap, per_request


def accuracy(records: list[RequestRecord]) -> dict[str, Any] | None:
    """Mean score over scored items, with the per-item scores kept in the records.

    0/1 scores get the Wilson interval (honest for tiny n and for 0% / 100%, unlike the normal
    approximation); fractional scores (VQA's 0, 1/3, 2/3, 1) are not Bernoulli, so they get a
    bootstrap interval over items instead. ``interval`` says which.
    """
    scored = [r for r in records if r.score is not None]
    if not scored:
        return None
    scores = [float(r.score) for r in scored if r.score is not None]
    n = len(scores)
    mean = sum(scores) / n
    if all(x in (0.0, 1.0) for x in scores):
        z = 1.959964
        centre = (mean + z * z / (2 * n)) / (1 + z * z / n)
        half = z * ((mean * (1 - mean) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
        low, high, how = centre - half, centre + half, "wilson"
    else:
        # the item is the unit: accuracy varies over which questions were asked, not over batches
        low, high = stats.bootstrap_ci(scores)
        low, high, how = (None, None, "bootstrap") if low != low else (low, high, "bootstrap")  # NaN: < 2 units
    return {"n": n, "correct": sum(scores), "mean": mean, "ci95_low": low, "ci95_high": high, "interval": how}


def throughput_passes(main: list[RequestRecord]) -> dict[str, Any] | None:
    """Output throughput of each pass over the dataset, summarized (one value per pass)."""
    vals = [v for rs in by_pass(main).values() if (v := output_throughput(rs)) is not None]
    return stats.summary_dict(vals)


def memory(groups: list[dict[str, Any]], weights_bytes: int) -> dict[str, Any]:
    """Peak memory per phase and overall; activations/KV estimated as peak allocated - weights."""
    by_phase: dict[str, list[MemoryPeak]] = {}
    for g in groups:
        by_phase.setdefault(g["phase"], []).append(MemoryPeak(**g["memory"]))
    phases = {p: peak.to_dict() for p, v in by_phase.items() if (peak := merge_peaks(v)) is not None}  # none empty
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
    first = by_pass(main).get(0, main) if main else []
    passes = throughput_passes(main)
    # Metrics registered elsewhere with a function of records get the same summary.
    extras = {m.key: stats.summary_dict(m.samples(main)) for m in registry.extras() if m.samples is not None}
    return {
        # total/ok/tokens describe one pass over the items (what was asked); repeated passes add
        # units, counted in measured_requests; errors and short outputs count in every pass
        "requests": {
            "total": len(first),
            "ok": sum(r.ok for r in first),
            "errors": sum(not r.ok for r in main),  # an error, or no token at all
            "short_outputs": sum(r.short for r in records if not r.phase.startswith("warmup")),
            "prompt_tokens": sum(r.prompt_tokens for r in first),
            "output_tokens": sum(r.output_tokens for r in first),
            **{k: v for k, v in counts(main).items() if k != "requests"},
            "passes": len(by_pass(main)),
            "measured_requests": len(main),
            "prompt_token_mismatch": prompt_token_mismatch([r for r in records if not r.phase.startswith("warmup")]),
        },
        "ttft_s": per_request(ttft, main),
        "tpot_s": per_request(tpot, main),
        "itl_s": per_gap(ok),
        "e2e_s": per_request(e2e, main),
        "decode_tps": stats.summary_dict(batch_decode_tps(main)),
        **extras,
        "stream_tps": stream_speed(main),
        # the mean over passes (each pass its own window: bookkeeping between passes is not in it)
        "output_throughput": passes["mean"] if passes else None,
        "output_throughput_passes": passes,
        "context_load": context_curve([r for r in records if r.phase == "context"]),
        "batch_efficiency": batch_curve([r for r in records if r.phase == "batch"]),
        "accuracy": accuracy(first),
        "image_inputs": image_inputs(first),  # what the items are: one pass
        "memory": memory(groups, weights_bytes),
        "inputs": input_repetition(first),
        "response_cache": cache_summary(main),
    }


def warnings(metrics: dict[str, Any]) -> list[str]:
    """Lines saying where a number should not be trusted (metrics/checks.py, per metric family)."""
    named = [
        ("TTFT", metrics["ttft_s"], True),
        ("TPOT", metrics["tpot_s"], True),
        ("ITL", metrics["itl_s"], True),
        ("E2E", metrics["e2e_s"], True),
        ("decode TPS", metrics["decode_tps"], False),
        ("output throughput", metrics.get("output_throughput_passes"), False),
    ]
    for p in (metrics["context_load"] or {}).get("points", []):
        named.append((f"TTFT at {p['prompt_tokens']} prompt tokens", p["ttft"], True))
    for p in (metrics["batch_efficiency"] or {}).get("points", []):
        named.append((f"throughput at batch {p['batch_size']}", p["throughput"], False))
    out = summary_warnings(named)
    mismatch = mismatch_warning(metrics["requests"].get("prompt_token_mismatch"))
    if mismatch:
        out.append(mismatch)
    repeated = repetition_warning(metrics.get("inputs"))
    if repeated:
        out.append(repeated)
    req = metrics["requests"]
    if req["short_outputs"]:
        out.append(f"{req['short_outputs']} forced-length outputs came back shorter than asked")
    if req["errors"]:
        out.append(f"{req['errors']} requests failed")
    return out
