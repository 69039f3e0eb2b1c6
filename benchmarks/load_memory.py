"""Memory of a long ``infermeter load`` run: RSS of the client over N requests against the null server.

Every record goes to records.jsonl as it completes and no client process keeps them (with
``--client-procs N`` each client process streams its records to the parent in batches of 256), so
RSS should stay flat however long the run. This starts ``infermeter serve-null`` (no pacing),
runs ``infermeter load --profile concurrent:C --max-requests N [--client-procs P]`` as a subprocess,
samples the RSS of the client (the parent plus its client processes) every 0.5 s against the
number of records on disk, and prints the RSS at 10/25/50/75/95% of the requests, the growth from
10% (after start-up and warm-up allocations) to 95%, and the peak (which includes the final
summary, computed from the records file at the end).

    python benchmarks/load_memory.py                                        # 100k requests
    python benchmarks/load_memory.py --requests 1000000 --client-procs 8    # the 1M target, 16 cores
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from infermeter.servers.null import NullServerProcess

CHECKPOINTS = (0.10, 0.25, 0.50, 0.75, 0.95)


class LineCounter:
    """Lines of a growing file, reading only what was appended since the last call."""

    def __init__(self) -> None:
        self.offset, self.lines = 0, 0

    def __call__(self, path: Path) -> int:
        if not path.is_file():
            return self.lines
        with path.open("rb") as f:
            f.seek(self.offset)
            for chunk in iter(lambda: f.read(1 << 20), b""):
                self.lines += chunk.count(b"\n")
                self.offset += len(chunk)
        return self.lines


def tree_rss(ps: psutil.Process) -> int:
    """RSS of a process and all its children (the client processes of --client-procs)."""
    total = ps.memory_info().rss
    for child in ps.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # a client process that just ended
            total += child.memory_info().rss
    return total


def sample(proc: subprocess.Popen, records: Path, every_s: float = 0.5) -> list[tuple[int, int]]:
    """(records on disk, RSS bytes of the client tree) every ``every_s`` until the process ends."""
    ps, count = psutil.Process(proc.pid), LineCounter()
    out = []
    while proc.poll() is None:
        try:
            out.append((count(records), tree_rss(ps)))
        except psutil.NoSuchProcess:
            break
        time.sleep(every_s)
    return out


def at(samples: list[tuple[int, int]], n: int) -> int | None:
    """RSS of the first sample with at least ``n`` records (None: the run ended before a sample saw them)."""
    return next((rss for k, rss in samples if k >= n), None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--client-procs", type=int, default=1, help="client processes of the load (default 1)")
    ap.add_argument("--tokens", type=int, default=8)
    ap.add_argument("--chunk-tokens", type=int, default=1, help="tokens per SSE chunk of the null server")
    args = ap.parse_args()
    server = ("--tokens", str(args.tokens), "--pace-ms", "0", "--chunk-tokens", str(args.chunk_tokens), "--no-metrics")
    with tempfile.TemporaryDirectory() as tmp, NullServerProcess(*server) as srv:
        cmd = [sys.executable, "-m", "infermeter", "load", "--base-url", srv.url, "--quiet",
               "--profile", f"concurrent:{args.concurrency}", "--max-requests", str(args.requests),
               "--client-procs", str(args.client_procs), "--server-metrics", "off",
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
    n, mb = args.requests, 2**20
    rss = {c: at(samples, int(n * c)) for c in CHECKPOINTS}
    early, late = rss[0.10], rss[0.95]
    growth = f"{(late - early) / early:.1%}" if early and late else "-"
    peak = max(r for _, r in samples)
    load1, load5, _ = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load1:.1f} / {load5:.1f} (1 / 5 min); "
          f"python {sys.version.split()[0]}; {time.strftime('%Y-%m-%d %H:%M %Z')}")  # fmt: skip
    print(f"{n:,} requests, concurrency {args.concurrency}, {args.client_procs} client process(es): "
          f"{wall:.0f} s, {n / wall:.0f} requests/s")  # fmt: skip
    print("RSS of the client (MB) at " + ", ".join(
        f"{c:.0%}: {'-' if v is None else f'{v / mb:.1f}'}" for c, v in rss.items()))  # fmt: skip
    print(f"growth 10% -> 95%: {growth}; peak {peak / mb:.1f} MB (the end-of-run summary reads the records back)")


if __name__ == "__main__":
    main()
