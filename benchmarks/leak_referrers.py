"""Diagnose what keeps a released model alive: build, generate, drop, clean up, then walk the referrers
of one surviving parameter. Usage: python benchmarks/leak_referrers.py --model qwen3-1.7b --kv-cache static."""

from __future__ import annotations

import argparse
import gc
import sys
import types

import numpy as np

from infermeter.backends.hf import HFBackend
from infermeter.config import build_config
from infermeter.core.clock import clock_for
from infermeter.core.device import resolve_device
from infermeter.optimize.cleanup import cleanup, snapshot


def _describe(obj: object) -> str:
    if isinstance(obj, types.FrameType):
        return f"frame {obj.f_code.co_name} ({obj.f_code.co_filename}:{obj.f_lineno})"
    if isinstance(obj, types.FunctionType):
        return f"function {obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, dict):
        return f"dict with keys {list(obj)[:6]}"
    if isinstance(obj, (list, tuple)):
        return f"{type(obj).__name__} of {len(obj)}"
    if isinstance(obj, types.CellType):
        return "cell"
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def chains(target: object, depth: int = 7, width: int = 3) -> None:
    """Print referrer chains from ``target`` outwards (skipping this function's own frames)."""
    seen = {id(sys._getframe())}
    level = [(target, "")]
    for d in range(depth):
        nxt = []
        for obj, indent in level:
            refs = [r for r in gc.get_referrers(obj) if id(r) not in seen and r is not level and r is not nxt]
            for r in refs[:width]:
                seen.add(id(r))
                print(f"{'  ' * (d + 1)}<- {_describe(r)}")
                nxt.append((r, indent + "  "))
        level = nxt
        if not level:
            break


def main() -> None:
    """Build, run, release, report."""
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="qwen3-1.7b")
    p.add_argument("--kv-cache", dest="cache", default="static")
    a = p.parse_args()
    base = snapshot()
    cfg = build_config({}, {"model.name": a.model, "model.kv_cache": a.cache, "generation.max_new_tokens": 16})
    device = resolve_device("auto")
    backend = HFBackend(cfg, clock_for(device))
    backend.load()
    prompts = [backend.synthetic_prompt(32, np.random.default_rng(0))]
    for _ in range(3):
        backend.generate(prompts, cfg.generation, True)
    del backend
    report = cleanup("full", baseline=base)
    print(report.summary())
    if report.clean:
        return
    import torch

    survivors = [o for o in gc.get_objects() if type(o) is torch.nn.Parameter]
    print(f"{len(survivors)} parameters survive")
    if survivors:
        chains(max(survivors, key=lambda t: t.numel()))
    print("one more gc pass:", cleanup("gc", baseline=base).summary())


if __name__ == "__main__":
    main()
