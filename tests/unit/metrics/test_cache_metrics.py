"""Repeated-input detection (benchmark pattern) and hit/miss latency, from records."""

from __future__ import annotations

from infermeter.core.records import RequestRecord
from infermeter.metrics.cache import cache_summary, input_repetition, repetition_warning
from infermeter.metrics.compute import compute, warnings


def _rec(i: int, inp: str, e2e: float, cache: str | None = None) -> RequestRecord:
    extra = {"input": inp, **({"cache": cache} if cache else {})}
    return RequestRecord(f"r{i}", "dataset", i, 1, 16, t_send=10.0 * i, token_times=[10.0 * i + e2e], extra=extra)


def test_the_warning_fires_on_seed_001s_own_benchmark_pattern():
    # for _ in range(100): preloader.predict(data): one input, 100 times, through a cache.
    records = [_rec(i, "same-tensor", 0.085 if i == 0 else 0.001, "miss" if i == 0 else "hit") for i in range(100)]
    metrics = compute(records, [], 0)
    assert metrics["inputs"] == {"requests": 100, "distinct": 1, "repeat_fraction": 0.99, "max_copies": 100}
    lines = [w for w in warnings(metrics) if w.startswith("repeated inputs")]
    assert len(lines) == 1 and "99 of 100 requests (99%)" in lines[0] and "--repeat-ratio" in lines[0]
    c = metrics["response_cache"]
    assert c["hit_rate"] == 0.99 and c["hits"] == 99 and c["misses"] == 1
    assert c["hit_e2e_s"]["mean"] < 0.002 and c["miss_e2e_s"]["mean"] == 0.085  # kept apart, never averaged


def test_no_warning_for_a_realistic_mix_and_no_cache_section_without_a_cache():
    records = [_rec(i, f"q{i % 80}", 0.05) for i in range(100)]  # 20% repeats
    metrics = compute(records, [], 0)
    assert metrics["inputs"]["repeat_fraction"] == 0.2
    assert not any(w.startswith("repeated inputs") for w in warnings(metrics))
    assert metrics["response_cache"] is None
    assert input_repetition([]) is None and repetition_warning(None) is None
    assert cache_summary(records) is None
