"""Overhead of infermeter's timed generation vs a bare ``model.generate`` (same process, interleaved).

Both sides use the same model object and the same inputs; rounds alternate ABBA so drift (thermal,
allocator, other load) hits both equally. Two comparisons:

* E2E: wall time of one generate() call, bare vs through the HF backend (per-token hook included);
* decode tok/s: infermeter's number from its token timestamps vs the bare-script estimate
  ``(N - 1) / (T(N) - T(1))`` where T(k) is the time of a generate() with k forced new tokens.

Usage: python benchmarks/overhead.py --model tiny-qwen3 --device cpu --batch 1 --prompt 128 --new 64
Prints one table row per configuration and a JSON line per row (for docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from infermeter.backends.hf import HFBackend
from infermeter.config import build_config
from infermeter.core.clock import clock_for
from infermeter.core.records import RequestRecord
from infermeter.metrics.throughput import decode_tps


def _bare(model, ids, mask, n, kw, sync) -> float:  # noqa: ANN001
    sync()
    t0 = time.perf_counter()
    with torch.inference_mode():
        model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, **kw)
    sync()
    return time.perf_counter() - t0


def measure(model_name: str, device: str, batch: int, prompt: int, new: int, cache: str, rounds: int) -> dict:
    """Interleaved rounds of bare vs infermeter; returns medians and ratios."""
    cfg = build_config(
        {},
        {
            "model.name": model_name,
            "model.device": device,
            "model.kv_cache": cache,
            "generation.max_new_tokens": new,
        },
    )
    backend = HFBackend(cfg, clock_for(device))
    info = backend.load()
    rng = np.random.default_rng(0)
    prompts = [backend.synthetic_prompt(prompt, rng) for _ in range(batch)]
    ids = torch.tensor([p.ids for p in prompts], device=backend.device)
    mask = torch.ones_like(ids)
    kw = {
        k: v
        for k, v in backend._generate_kwargs(cfg.generation, True).items()
        if k not in ("max_new_tokens", "min_new_tokens")
    }
    sync = torch.cuda.synchronize if backend.device.startswith("cuda") else (lambda: None)

    def ours() -> tuple[float, float]:
        gens = backend.generate(prompts, cfg.generation, True)
        recs = [RequestRecord("r", "bench", 0, batch, prompt, g.t_send, g.token_times) for g in gens]
        assert all(r.output_tokens == new for r in recs), "forced length not reached"
        end = max(r.token_times[-1] for r in recs)
        return end - gens[0].t_send, decode_tps(recs)

    for _ in range(2):  # warm-up both paths (and compile, for a static cache) before any timing
        ours()
        _bare(backend.model, ids, mask, new, kw, sync)
        _bare(backend.model, ids, mask, 1, kw, sync)
    bare_e2e, bare_1, our_e2e, our_tps = [], [], [], []
    for r in range(rounds):
        order = ("bare", "ours") if r % 2 == 0 else ("ours", "bare")  # ABBA
        for side in order:
            if side == "bare":
                bare_e2e.append(_bare(backend.model, ids, mask, new, kw, sync))
                bare_1.append(_bare(backend.model, ids, mask, 1, kw, sync))
            else:
                e, t = ours()
                our_e2e.append(e)
                our_tps.append(t)
    b_e2e, b_1, o_e2e = (statistics.median(x) for x in (bare_e2e, bare_1, our_e2e))
    bare_tps = batch * (new - 1) / (b_e2e - b_1)
    o_tps = statistics.median(our_tps)
    # Paired per round (both sides ran back to back), so drift between rounds cancels.
    ratios = np.array(our_e2e) / np.array(bare_e2e)
    boot = np.random.default_rng(1).choice(ratios, size=(2000, len(ratios))).mean(axis=1)
    return {
        "model": model_name,
        "device": info.device,
        "dtype": info.dtype,
        "cache": cache,
        "batch": batch,
        "prompt": prompt,
        "new": new,
        "rounds": rounds,
        "bare_e2e_s": b_e2e,
        "infermeter_e2e_s": o_e2e,
        "e2e_overhead": float(ratios.mean() - 1),
        "e2e_overhead_ci95": [float(np.percentile(boot, 2.5) - 1), float(np.percentile(boot, 97.5) - 1)],
        "bare_decode_tps": bare_tps,
        "infermeter_decode_tps": o_tps,
        "decode_tps_ratio": o_tps / bare_tps,
        "bare_e2e_spread": (max(bare_e2e) - min(bare_e2e)) / b_e2e,
        "raw": {"bare_e2e": bare_e2e, "bare_1": bare_1, "ours_e2e": our_e2e, "ours_tps": our_tps},
    }


def main() -> None:
    """Parse flags, run each configuration, print a table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tiny-qwen3")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch", default="1", help="comma-separated batch sizes")
    p.add_argument("--kv-cache", dest="cache", default="dynamic", help="KV cache kinds: dynamic,static")
    p.add_argument("--prompt", type=int, default=128)
    p.add_argument("--new", type=int, default=64)
    p.add_argument("--rounds", type=int, default=10)
    a = p.parse_args()
    rows = [
        measure(a.model, a.device, int(b), a.prompt, a.new, c, a.rounds)
        for c in a.cache.split(",")
        for b in a.batch.split(",")
    ]
    head = ("model", "dev", "cache", "b", "bare e2e s", "ours e2e s", "overhead [95% CI]")
    print("{:14s} {:6s} {:8s} {:>3s} {:>10s} {:>10s} {:>24s}".format(*head), "bare tok/s ours tok/s ratio")
    for r in rows:
        lo, hi = r["e2e_overhead_ci95"]
        ci = f"{r['e2e_overhead']:+.2%} [{lo:+.2%},{hi:+.2%}]"
        print(
            f"{r['model']:14s} {r['device']:6s} {r['cache']:8s} {r['batch']:3d} {r['bare_e2e_s']:10.4f} "
            f"{r['infermeter_e2e_s']:10.4f} {ci:>24s} {r['bare_decode_tps']:10.1f} "
            f"{r['infermeter_decode_tps']:10.1f} {r['decode_tps_ratio']:6.3f}"
        )
    for r in rows:
        print("JSON " + json.dumps(r))


if __name__ == "__main__":
    main()
