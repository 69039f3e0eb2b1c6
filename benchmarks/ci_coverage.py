"""Coverage of infermeter's 95% CIs under batch-correlated noise, before and after units of analysis.

Each simulated run has a known true mean. Its requests come in generate() calls (batches); the
requests of one batch share the batch's noise (one prefill, one decode loop), then each request adds
its own smaller noise. "before" is the interval infermeter printed until now: a Student-t interval
over the requests as if they were independent (n = requests). "after" is the interval over the
independent units (stats/__init__.py: cluster-robust, the batch is the unit), and no interval at all with
one unit. The target is 93-97% coverage.

    python benchmarks/ci_coverage.py [--runs 4000] [--seed 0]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from infermeter.stats import ci_mean, cluster_ci

TRUE_MEAN = 1.0


def one_run(rng: np.random.Generator, batches: int, size: int, batch_sd: float, req_sd: float):
    """Per-request values and their batch ids."""
    shared = rng.normal(0.0, batch_sd, batches)
    vals = TRUE_MEAN + np.repeat(shared, size) + rng.normal(0.0, req_sd, batches * size)
    return vals, np.repeat(np.arange(batches), size)


def coverage(runs: int, seed: int, batches: int, size: int, batch_sd: float, req_sd: float) -> dict:
    """Fraction of runs whose interval covers the true mean (None where no interval is given)."""
    rng = np.random.default_rng(seed)
    before = after = given = 0
    widths = []
    for _ in range(runs):
        vals, units = one_run(rng, batches, size, batch_sd, req_sd)
        lo, hi = ci_mean(vals)
        before += lo <= TRUE_MEAN <= hi
        lo, hi, _g = cluster_ci(vals, units)
        if math.isfinite(lo):
            given += 1
            after += lo <= TRUE_MEAN <= hi
            widths.append((hi - lo) / 2)
    return {
        "before": before / runs,
        "after": after / given if given else None,
        "no_ci": 1 - given / runs,
        "half_width": float(np.mean(widths)) if widths else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    cases = [  # (batches, requests per batch, batch noise sd, request noise sd)
        (1, 8, 0.05, 0.005),  # the old default run: one batch of 8
        (3, 8, 0.05, 0.005),  # run's default now: 3 passes of that batch
        (5, 8, 0.05, 0.005),
        (3, 64, 0.02, 0.01),  # batch 64 on a GPU: small batch noise, many siblings
        (10, 1, 0.05, 0.0),  # batch 1: every request its own unit (before == after)
    ]
    print(f"{a.runs} simulated runs per row, true mean {TRUE_MEAN}, 95% intervals (target 93-97%)")
    print(f"{'batches':>7} {'size':>4} {'batch sd':>8} {'req sd':>6} | {'before':>7} {'after':>7} {'no CI':>6}")
    for b, size, bsd, rsd in cases:
        c = coverage(a.runs, a.seed, b, size, bsd, rsd)
        after = "-" if c["after"] is None else f"{c['after']:.1%}"
        print(f"{b:>7} {size:>4} {bsd:>8} {rsd:>6} | {c['before']:>7.1%} {after:>7} {c['no_ci']:>6.0%}")


if __name__ == "__main__":
    main()
