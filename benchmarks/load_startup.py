"""How long `infermeter load` takes to send its first request: the light client vs a local model's tokenizer.

Starts `serve-null`, then runs `infermeter load --max-requests 1` ROUNDS times each way and reads the
first record's send time. perf_counter is CLOCK_MONOTONIC on Linux, the same clock in every process,
so "process start -> first request sent" is one subtraction. Prints a table (median and min).

    PYTHONPATH=src python benchmarks/load_startup.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from infermeter.servers.null import NullServerProcess

WAYS = {
    "light client (default: qwen via tokenizers)": [],
    "--model smollm2-135m (its GGUF tokenizer via transformers)": ["--model", "smollm2-135m"],
}


def first_send(url: str, extra: list[str], out: Path) -> tuple[float, float]:
    """(seconds from process start to the first request's send, total seconds) of one `load`."""
    cmd = [sys.executable, "-m", "infermeter", "load", "--base-url", url, "--max-requests", "1", "--json", "--quiet"]
    env = {**os.environ, "INFERMETER_DB": "off"}
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, *extra, "--output", str(out)], capture_output=True, text=True, env=env, timeout=600)
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    run_dir = Path(json.loads(proc.stdout)["run_dir"])
    rec = json.loads((run_dir / "records.jsonl").read_text().splitlines()[0])
    return rec["t_send"] - t0, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with NullServerProcess("--tokens", "4", "--pace-ms", "0") as srv, tempfile.TemporaryDirectory() as tmp:
        rows = []
        for name, extra in WAYS.items():
            got = [first_send(srv.url, extra, Path(tmp)) for _ in range(args.rounds)]
            firsts, totals = [g[0] for g in got], [g[1] for g in got]
            rows.append((name, statistics.median(firsts), min(firsts), statistics.median(totals)))
    print(f"| client | first request sent (median of {args.rounds}) | fastest | whole command (median) |")
    print("|---|---|---|---|")
    for name, med, low, total in rows:
        print(f"| {name} | {med:.2f} s | {low:.2f} s | {total:.2f} s |")


if __name__ == "__main__":
    main()
