"""A response cache measured two ways: on 100 identical inputs, and at realistic repeat ratios.

A classic cache benchmark sent one input 100 times: 85 ms -> 42 ms (cache) -> 28 ms (preload). With one input,
99 of 100 calls are cache hits: the number measures a dictionary lookup. Here the same model answers
streams of N requests (greedy, so cacheable) at several repeat ratios, without and with an LRU response
cache, and the table shows mean latency, hit rate and speed-up per row.

    python benchmarks/cache_honest.py                         # tiny-qwen3 on CPU, ~1 min
    python benchmarks/cache_honest.py --model qwen3-0.6b --device cuda --requests 200
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from infermeter.config import build_config
from infermeter.optimize import Preloader, ResponseCache
from infermeter.workloads.repeat import repeat_stream


def stream_latencies(backend, prompts, order, params, cache: ResponseCache | None) -> list[float]:
    """Per-request latency (s) of answering ``order`` one request at a time."""
    out = []
    for j in order:
        t0 = time.perf_counter()
        if cache is None:
            backend.generate([prompts[j]], params, True)
        else:
            cache.call(
                {"ids": prompts[j].ids, "do_sample": False}, lambda j=j: backend.generate([prompts[j]], params, True)
            )
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-qwen3")
    p.add_argument("--device", default="cpu")
    p.add_argument("--requests", type=int, default=100)
    p.add_argument("--prompt-len", type=int, default=64)
    p.add_argument("--new-tokens", type=int, default=16)
    p.add_argument("--ratios", default="0,0.1,0.3,0.5")
    p.add_argument("--cache", default="lru:1000")
    a = p.parse_args()
    cfg = build_config(
        {},
        {"model.name": a.model, "model.device": a.device, "probe_prompt_len": a.prompt_len,
         "probe_output_len": a.new_tokens, "warmup_runs": 2},
    )  # fmt: skip
    t0 = time.perf_counter()
    backend = Preloader.for_config(cfg, "different-input").get()  # loaded and warmed: no first-call cost below
    print(f"model {a.model} on {a.device}: loaded and warmed in {time.perf_counter() - t0:.1f} s")
    params = cfg.generation.model_copy(update={"max_new_tokens": a.new_tokens})
    n = a.requests
    prompts = [backend.synthetic_prompt(a.prompt_len, np.random.default_rng([cfg.seed, 11, i])) for i in range(n)]
    rows = [(f"one input x{n}", [0] * n)]
    rows += [(f"repeat ratio {r}", repeat_stream(n, float(r), cfg.seed)) for r in a.ratios.split(",")]
    print(
        f"{'workload':28s} {'no cache ms':>12s} {'cache ms':>9s} {'hit rate':>9s} {'hit ms':>8s} {'miss ms':>8s}",
        f"{'speed-up':>9s} {'vs misses':>9s}",
    )
    for name, order in rows:
        base = stream_latencies(backend, prompts, order, params, None)
        cache = ResponseCache.from_spec(a.cache)
        cached = stream_latencies(backend, prompts, order, params, cache)
        s = cache.stats()
        hit = statistics.fmean(s.hit_latency_s) * 1e3 if s.hit_latency_s else float("nan")
        miss = statistics.fmean(s.miss_latency_s) * 1e3 if s.miss_latency_s else float("nan")
        b, c = statistics.fmean(base) * 1e3, statistics.fmean(cached) * 1e3
        # "vs misses" compares within one stream (same machine state): robust on a noisy machine.
        print(f"{name:28s} {b:12.2f} {c:9.2f} {s.hit_rate:9.0%} {hit:8.3f} {miss:8.2f} {b / c:8.2f}x {miss / c:8.2f}x")


if __name__ == "__main__":
    main()
