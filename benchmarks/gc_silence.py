"""The largest client-side silence of a `load` run against a paced null server, collector on vs off.

A full garbage collection stops every thread of the load client at once: every stream's next token
is stamped late by the same amount, which shows as one shared silence in the client's timeline and
inflates TTFT/ITL tails. `load` now collects and freezes the heap before each measured point and
keeps the collector off inside it (core/collector.py). This script runs the same load twice in this
process, once with that guard replaced by a no-op ("collector on"), with extra heap ballast so a full
collection has something to scan, and prints the largest gap between consecutive client events
(sends and token arrivals, all streams merged) and the TTFT p99.

    python benchmarks/gc_silence.py [--requests 1024] [--concurrency 64] [--ballast 2000000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
from pathlib import Path

import numpy as np


def silence(records: list[dict]) -> tuple[float, float]:
    """(largest gap between consecutive client events, TTFT p99), in seconds."""
    events = sorted(t for r in records for t in [r["t_send"], *r["token_times"]])
    ttft = [r["token_times"][0] - r["t_send"] for r in records if r["token_times"]]
    return float(np.max(np.diff(events))), float(np.percentile(ttft, 99))


def one(url: str, requests: int, concurrency: int, guard: bool) -> tuple[float, float]:
    """Run one load in this process; return its silence and TTFT p99."""
    import infermeter.core.collector as collector
    from infermeter.cli import main

    real = collector.collector_off
    if not guard:
        collector.collector_off = contextlib.nullcontext  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as out:
            args = ["load", "--base-url", url, "--profile", f"concurrent:{concurrency}", "--quiet", "--json",
                    "--max-requests", str(requests), "--db", "off", "--output", out]  # fmt: skip
            with contextlib.redirect_stdout(open("/dev/null", "w")):  # noqa: SIM115
                main(args)
            path = next(Path(out).rglob("records.jsonl"))
            recs = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    finally:
        collector.collector_off = real
    return silence([r for r in recs if r["phase"] == "load" or not r["phase"].startswith("warmup")])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1024)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--ballast", type=int, default=2_000_000, help="long-lived objects in the client's heap")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    from infermeter.servers.null import NullServerProcess

    ballast = [[i] for i in range(a.ballast)]  # what a real client holds: tokenizer, prompts, records
    with NullServerProcess("--tokens", "32", "--ttft-ms", "5", "--pace-ms", "1") as srv:
        print(f"null server: TTFT 5 ms, 1 ms gaps; {a.requests} requests at concurrency {a.concurrency}; "
              f"{len(ballast)} objects of ballast")  # fmt: skip
        print(f"{'round':>5} {'collector':>10} {'largest silence':>16} {'TTFT p99':>9}")
        for k in range(a.rounds):
            for guard in (False, True):
                gap, p99 = one(srv.url, a.requests, a.concurrency, guard)
                print(f"{k + 1:>5} {'off' if guard else 'on':>10} {gap * 1e3:>13.1f} ms {p99 * 1e3:>6.1f} ms")


if __name__ == "__main__":
    main()
