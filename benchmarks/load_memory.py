"""Memory of a long ``infermeter load`` run: RSS of the client over N requests against the null server.

Every record goes to records.jsonl as it completes and the client keeps none of them, so RSS should
stay flat however long the run. This starts ``infermeter serve-null`` (no pacing, 8 tokens), runs
``infermeter load --profile concurrent:C --max-requests N`` as a subprocess, samples its RSS every
0.5 s against the number of records on disk, and prints RSS at 10% of the requests (after start-up
and warm-up allocations), at 95%, the growth between the two, and the peak (which includes the
final summary, computed from the records file at the end).

    python benchmarks/load_memory.py                      # 100k requests, ~3-6 min on a busy 2-core machine
    python benchmarks/load_memory.py --requests 1000000   # the 1M-request target
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from infermeter.servers.null import NullServerProcess


def _lines(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def sample(proc: subprocess.Popen, records: Path, every_s: float = 0.5) -> list[tuple[int, int]]:
    """(records on disk, RSS bytes) every ``every_s`` until the process ends."""
    ps = psutil.Process(proc.pid)
    out = []
    while proc.poll() is None:
        try:
            out.append((_lines(records), ps.memory_info().rss))
        except psutil.NoSuchProcess:
            break
        time.sleep(every_s)
    return out


def at(samples: list[tuple[int, int]], n: int) -> int:
    """RSS of the first sample with at least ``n`` records."""
    return next(rss for k, rss in samples if k >= n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--tokens", type=int, default=8)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, NullServerProcess("--tokens", str(args.tokens), "--pace-ms", "0") as srv:
        cmd = [sys.executable, "-m", "infermeter", "load", "--base-url", srv.url, "--quiet",
               "--profile", f"concurrent:{args.concurrency}", "--max-requests", str(args.requests),
               "--set", "tokenizer=qwen", "--prompt-len", "16", "--max-new-tokens", str(args.tokens),
               "--output", tmp, "--db", "off"]  # fmt: skip
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        run_dir: Path | None = None
        while run_dir is None and proc.poll() is None:
            dirs = list(Path(tmp).glob("*"))
            run_dir = dirs[0] if dirs else None
            time.sleep(0.1)
        samples = sample(proc, (run_dir or Path(tmp)) / "records.jsonl")
        err = proc.stderr.read() if proc.stderr else ""
        wall = time.perf_counter() - t0
    if proc.returncode not in (0, 4):
        sys.exit(f"load failed ({proc.returncode}): {err[-2000:]}")
    n = args.requests
    early, late = at(samples, n // 10), at(samples, int(n * 0.95))
    peak = max(rss for _, rss in samples)
    mb = 2**20
    print(f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}; {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"{'requests':>10} {'concurrency':>11} {'wall s':>7} {'RSS@10% MB':>11} {'RSS@95% MB':>11} "
          f"{'growth':>7} {'peak MB':>8}")  # fmt: skip
    print(f"{n:>10} {args.concurrency:>11} {wall:>7.0f} {early / mb:>11.1f} {late / mb:>11.1f} "
          f"{(late - early) / early:>7.1%} {peak / mb:>8.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
