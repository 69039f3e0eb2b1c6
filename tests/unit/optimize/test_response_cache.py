"""ResponseCache: LRU bounds, determinism rule, keys, stats, thread safety; repeat-ratio streams."""

from __future__ import annotations

import random
import threading

import pytest

from infermeter.errors import InfermeterError
from infermeter.optimize import CacheSpec, ResponseCache, parse_cache_spec
from infermeter.optimize.response_cache import is_deterministic, request_key
from infermeter.workloads.repeat import repeat_stream

GREEDY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0, "max_tokens": 16}


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ("none", None),
        ("lru:64", CacheSpec(64, None)),
        ("lru:64MB", CacheSpec(None, 64 * 10**6)),
        ("lru:1000,64MiB", CacheSpec(1000, 64 * 2**20)),
        ("lru:2KB/10", CacheSpec(10, 2000)),
    ],
)
def test_spec_parsing(spec, want):
    assert parse_cache_spec(spec) == want


@pytest.mark.parametrize("bad", ["lru:", "lru:x", "lru:10,20", "lru:1MB,2MB", "lru:0", "fifo:10", "lru:1.5"])
def test_bad_specs_are_one_clear_error(bad):
    with pytest.raises(InfermeterError, match="cache"):
        parse_cache_spec(bad)


def test_lru_bounds_hold_under_a_stream_of_random_sizes():
    rng = random.Random(0)
    cache = ResponseCache(max_entries=50, max_bytes=20_000)
    live: dict[str, int] = {}
    for i in range(5000):
        key = f"k{rng.randrange(400)}"
        if rng.random() < 0.5:
            cache.get(key)
        size = rng.choice([1, 10, 100, 1000, 5000, 30_000])
        stored = cache.put(key, b"x" * size)
        live[key] = size
        s = cache.stats()
        assert s.entries == len(cache) <= 50, i
        assert s.bytes <= 20_000, i
        assert stored == (size + len(key) <= 20_000)
    # Accounting is exact: the byte counter is the sum of what is stored.
    s = cache.stats()
    assert s.bytes == sum(live[k] + len(k) for k in list(cache._data))
    assert s.evictions > 0 and s.rejected > 0


def test_least_recently_used_goes_first():
    cache = ResponseCache(max_entries=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert "b" not in cache and "a" in cache and "c" in cache
    assert cache.stats().evictions == 1


def test_non_deterministic_requests_are_never_served_from_cache():
    cache = ResponseCache(max_entries=100)
    sampled = {**GREEDY, "temperature": 0.7}
    calls = []
    for _ in range(5):
        out, hit = cache.call(sampled, lambda: calls.append(1) or len(calls))
        assert not hit
    assert len(calls) == 5 and len(cache) == 0 and cache.stats().uncacheable == 5
    # transformers-style requests: do_sample decides; a per-request seed makes sampling cacheable.
    assert not is_deterministic({"do_sample": True, "temperature": 0.0})
    assert is_deterministic({"do_sample": False, "temperature": 0.7})
    assert is_deterministic({**sampled, "seed": 3})
    assert not is_deterministic({"messages": []})  # OpenAI's default temperature is 1
    assert ResponseCache.key(sampled) is None


def test_greedy_repeats_hit_and_every_parameter_is_in_the_key():
    cache = ResponseCache(max_entries=100)
    n = [0]

    def compute():
        n[0] += 1
        return f"answer {n[0]}"

    assert cache.call(GREEDY, compute) == ("answer 1", False)
    assert cache.call(dict(reversed(list(GREEDY.items()))), compute) == ("answer 1", True)  # key order
    assert cache.call({**GREEDY, "temperature": 0.0}, compute)[1]  # 0 and 0.0 are one value
    assert cache.call({**GREEDY, "stream": True}, compute)[1]  # delivery, not content
    for change in (
        {"max_tokens": 17},
        {"model": "other"},
        {"stop": ["\n"]},
        {"top_p": 0.5},
        {"messages": [{"role": "user", "content": "hi "}]},
    ):
        assert request_key({**GREEDY, **change}) != request_key(GREEDY)
        assert not cache.call({**GREEDY, **change}, compute)[1]
    s = cache.stats()
    assert (s.hits, s.misses) == (3, 6) and s.hit_rate == pytest.approx(3 / 9)
    assert len(s.hit_latency_s) == 3 and len(s.miss_latency_s) == 6
    d = s.to_dict()
    assert d["hit_latency_s"]["n"] == 3 and d["bytes"] > 0


def test_thread_safe_under_concurrent_use():
    cache = ResponseCache(max_entries=64, max_bytes=50_000)
    errors = []

    def worker(seed):
        rng = random.Random(seed)
        try:
            for _ in range(2000):
                key = f"k{rng.randrange(200)}"
                if cache.get(key) is None:
                    cache.put(key, "v" * rng.randrange(1, 2000))
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = cache.stats()
    assert not errors and s.entries <= 64 and s.bytes <= 50_000
    assert s.hits + s.misses == 8 * 2000
    assert s.bytes == sum(size for _, size in cache._data.values())


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.3, 0.5, 0.9])
def test_repeat_ratio_gives_that_hit_rate_on_a_long_seeded_stream(ratio):
    n = 20_000
    order = repeat_stream(n, ratio, seed=7)
    assert order == repeat_stream(n, ratio, seed=7)  # seeded
    cache = ResponseCache(max_entries=n)
    for j in order:
        cache.call({"prompt": f"question {j}", "temperature": 0}, lambda j=j: f"answer {j}")
    assert abs(cache.stats().hit_rate - ratio) <= 0.02
    # A bounded cache cannot keep every repeat: its hit rate is lower, and the report shows it.
    small = ResponseCache(max_entries=100)
    for j in order:
        small.call({"prompt": f"question {j}", "temperature": 0}, lambda: "a")
    assert small.stats().hit_rate <= cache.stats().hit_rate + 1e-9


def test_repeat_stream_shape():
    order = repeat_stream(100, 0.3, seed=1)
    assert len(order) == 100 and order[0] == 0
    assert len(set(order)) == 70
    new = [j for pos, j in enumerate(order) if j not in order[:pos]]
    assert new == list(range(70))  # new inputs appear in order
    with pytest.raises(InfermeterError):
        repeat_stream(10, 1.0, seed=0)
