"""Repeated inputs and response-cache hits, as pure functions of records.

A cache was once reported taking latency from 85 ms to 42 ms by sending one input 100 times: 99 of
its 100 requests were repeats, so it measured a dictionary lookup. Two things keep that from happening
unnoticed:

* ``input_repetition``: how many requests repeat an earlier input (records carry an input fingerprint
  in ``extra["input"]``); :func:`repetition_warning` turns a high share into a report warning, whether
  or not a cache was on (a same-input warm-up or any input-keyed cache flatters such a workload too);
* ``cache_summary``: hit rate, and the latency of hits and misses kept apart.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from infermeter import stats
from infermeter.core.records import RequestRecord
from infermeter.metrics.latency import e2e, ttft, values

#: Warn when at least this share of requests repeat an earlier input.
REPEAT_WARN_FRACTION = 0.5


def input_repetition(records: list[RequestRecord]) -> dict[str, Any] | None:
    """Requests, distinct inputs, share of requests that repeat an earlier input, most copies of one."""
    keys = [r.extra.get("input") for r in records]
    if not keys or any(k is None for k in keys):
        return None
    counts = Counter(keys)
    n = len(keys)
    return {
        "requests": n,
        "distinct": len(counts),
        "repeat_fraction": (n - len(counts)) / n,
        "max_copies": max(counts.values()),
    }


def repetition_warning(rep: dict[str, Any] | None, threshold: float = REPEAT_WARN_FRACTION) -> str | None:
    """A warning line when repeats make cached or warmed numbers misleading, else None."""
    if not rep or rep["requests"] < 2 or rep["repeat_fraction"] < threshold:
        return None
    n, d = rep["requests"], rep["distinct"]
    return (
        f"repeated inputs: {n - d} of {n} requests ({rep['repeat_fraction']:.0%}) repeat an earlier input "
        f"({d} distinct, one sent {rep['max_copies']} times); any cache or same-input warm-up makes these "
        "latencies look better than real traffic would: measure with a realistic --repeat-ratio"
    )


def cache_summary(records: list[RequestRecord]) -> dict[str, Any] | None:
    """Hit rate and hit/miss latencies of records served through a response cache (None: no cache)."""
    status = [r.extra.get("cache") for r in records]
    if not any(status):
        return None
    hits = [r for r, s in zip(records, status, strict=True) if s == "hit"]
    misses = [r for r, s in zip(records, status, strict=True) if s == "miss"]
    cacheable = len(hits) + len(misses)
    return {
        "hits": len(hits),
        "misses": len(misses),
        "uncacheable": sum(s == "uncacheable" for s in status),
        "hit_rate": len(hits) / cacheable if cacheable else None,
        "hit_e2e_s": stats.summary_dict(values(e2e, hits)),
        "miss_e2e_s": stats.summary_dict(values(e2e, misses)),
        "hit_ttft_s": stats.summary_dict(values(ttft, hits)),
        "miss_ttft_s": stats.summary_dict(values(ttft, misses)),
    }
