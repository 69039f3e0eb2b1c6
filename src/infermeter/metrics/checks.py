"""Warnings on every summarized metric, in the manner of pyperf's "result may be unstable".

Each check reads a summary dict (``core.stats.Summary.to_dict``) and says where its number should not
be trusted: too few independent units, a spread above 10% of the mean, extremes beyond +-50% of the
mean, durations under 1 ms from a clock too coarse for them, a p99 from fewer than 100 values (it is
then close to the maximum). Lines are grouped by check so a run with one batch gets one line, not one
per metric. GPU clock/temperature drift and foreign GPU processes come from core/gpu_state.py. A run
measured in several processes is also checked across them (:func:`process_warnings`).
"""

from __future__ import annotations

import time
from typing import Any

from infermeter.metrics.registry import label as label_of

MIN_UNITS = 3
UNSTABLE_CV = 0.10
EXTREME = 0.5
P99_MIN_N = 100


def _clock_resolution() -> float:
    return time.get_clock_info("perf_counter").resolution


def issues(d: dict[str, Any] | None, *, seconds: bool, resolution: float | None = None) -> list[str]:
    """The check names that fire for one summary: units, spread, extremes, coarse-clock, p99."""
    if not d or d.get("mean") is None:
        return []
    out = []
    n, units, mean = d["n"], d.get("units", d["n"]), d["mean"]
    if units < MIN_UNITS:
        out.append("units")
    if units >= 2 and mean and d.get("stdev") is not None and d["stdev"] > UNSTABLE_CV * abs(mean):
        out.append("spread")
    if mean and n >= 2 and (d["max"] > (1 + EXTREME) * mean or d["min"] < (1 - EXTREME) * mean):
        out.append("extremes")
    res = _clock_resolution() if resolution is None else resolution
    if seconds and d["min"] < 1e-3 and d["min"] < 100 * res:
        out.append("coarse-clock")
    if seconds and d.get("p99") is not None and 1 < n < P99_MIN_N:  # latency tables print a p99
        out.append("p99")
    return out


_TEXT = {
    "units": "fewer than 3 independent units (no CI with 1; a wide one with 2): add --repeats",
    "spread": "stdev above 10% of the mean: numbers may be unstable",
    "extremes": "min or max beyond +-50% of the mean: outliers or a bimodal distribution",
    "coarse-clock": "values under 1 ms within 100x the clock's resolution",
    "p99": "p99 from fewer than 100 values is about the maximum",
}


def summary_warnings(named: list[tuple[str, dict[str, Any] | None, bool]]) -> list[str]:
    """One line per check that fires, naming the metrics it fires for (``(label, summary, seconds)``)."""
    hits: dict[str, list[str]] = {}
    for label, d, seconds in named:
        for k in issues(d, seconds=seconds):
            detail = label
            if k == "units" and d:
                g = d.get("units", d["n"])
                detail += f" ({g} unit{'s' if g != 1 else ''}, n={d['n']})"
            elif k == "spread" and d:
                detail += f" ({100 * d['stdev'] / abs(d['mean']):.0f}%)"
            elif k == "p99" and d:
                detail += f" (n={d['n']})"
            hits.setdefault(k, []).append(detail)
    return [f"{_TEXT[k]}: {', '.join(v)}" for k, v in hits.items()]


def prompt_token_mismatch(records: list[Any]) -> dict[str, Any] | None:
    """Requests whose server-counted prompt length differs from the client's by more than 1%."""
    seen, off = 0, []
    for r in records:
        client = (r.extra or {}).get("client_prompt_tokens")
        if not isinstance(client, int) or client <= 0:
            continue
        seen += 1
        if abs(r.prompt_tokens - client) > 0.01 * client:
            off.append(r.prompt_tokens - client)
    if not off:
        return None
    return {"requests": len(off), "of": seen, "mean_delta": sum(off) / len(off), "max_delta": max(off, key=abs)}


def mismatch_warning(m: dict[str, Any] | None) -> str | None:
    """One line for :func:`prompt_token_mismatch`."""
    if not m:
        return None
    return (
        f"the server counted other prompt lengths than the client for {m['requests']}/{m['of']} requests "
        f"(mean {m['mean_delta']:+.1f}, max {m['max_delta']:+d} tokens; text is re-tokenized by the server, and the "
        "chat API adds its template): prompt_tokens are the server's counts"
    )


def process_warnings(section: dict[str, Any] | None) -> list[str]:
    """Lines for a run measured in several processes (``processes`` section, metrics/processes.py).

    The between-process check: the stdev of the process means above the mean within-process CI
    half-width says each process's CI understates how much the next process may differ.
    """
    if not section:
        return []
    out = []
    if section["n"] < MIN_UNITS:
        out.append(f"{section['n']} processes: between-process CIs are wide (--processes 3 or more)")
    hits = [
        f"{label_of(k)} ({d['spread_ratio']:.1f}x)"
        for k, d in section["metrics"].items()
        if d.get("spread_ratio") is not None and d["spread_ratio"] > 1
    ]
    if hits:
        out.append(
            "between-process spread (stdev of the process means) is larger than the within-process CI "
            f"half-width: {', '.join(hits)}; read the between-process CIs, the within-process ones understate"
        )
    return out
