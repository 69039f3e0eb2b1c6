"""`load --executor ray --client-shards 2` beside `--client-procs 2`: the clock-offset estimates and
whether the shards keep the schedule, against one null server.

Starts `serve-null` and a local Ray cluster of two logical nodes (Ray's `cluster_utils`, one CPU
each), then runs the same seeded constant-rate point both ways and prints, per way: the sent and
completed rates, send lag p50/p99 (how late requests left against their due time), TTFT p50, and for
the shards each one's node, clock offset and uncertainty (both nodes are this host: the true offset is
zero), plus the seconds from command start to report (Ray's start-up included).

    PYTHONPATH=src python benchmarks/load_shards.py [--rate 100] [--requests 400]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from infermeter.servers.null import NullServerProcess

STORE = 80 * 2**20


def run_load(url: str, args: argparse.Namespace, extra: list[str], out: Path) -> tuple[dict, float]:
    """(the report, wall seconds of the command) of one `infermeter load`."""
    cmd = [sys.executable, "-m", "infermeter", "load", "--base-url", url, "--profile", f"constant:{args.rate:g}",
           "--max-requests", str(args.requests), "--seed", "1", "--set", "tokenizer=qwen", "--prompt-len", "16",
           "--max-new-tokens", "16", "--json", "--quiet", "--output", str(out), *extra]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "INFERMETER_DB": "off"}, timeout=900)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    return json.loads(proc.stdout), took


def row(name: str, report: dict, took: float) -> str:
    (p,) = report["load_run"]["points"]
    lag = (p.get("client") or {}).get("send_lag_s") or {}
    ms = lambda v: "-" if v is None else f"{1000 * v:.2f}"  # noqa: E731
    return (f"| {name} | {p['achieved_rate']:.1f} | {p['request_rate']:.1f} | {ms(lag.get('median'))} / "
            f"{ms(lag.get('p99'))} | {ms(p['ttft_s']['median'])} | {took:.0f} |")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=100.0, help="requests/s of the constant point (default 100)")
    ap.add_argument("--requests", type=int, default=400, help="requests of the point (default 400)")
    args = ap.parse_args()
    from ray.cluster_utils import Cluster  # optional extra: only this benchmark needs it

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": STORE,
                                                            "include_dashboard": False})  # fmt: skip
    cluster.add_node(num_cpus=1, object_store_memory=STORE)
    cluster.wait_for_nodes()
    try:
        with NullServerProcess("--tokens", "16", "--pace-ms", "2") as srv, tempfile.TemporaryDirectory() as tmp:
            procs, t_procs = run_load(srv.url, args, ["--client-procs", "2"], Path(tmp))
            shards, t_shards = run_load(
                srv.url,
                args,
                ["--executor", "ray", "--ray-address", cluster.address, "--client-shards", "2"],
                Path(tmp),
            )
    finally:
        cluster.shutdown()
    print(f"\nconstant:{args.rate:g}, {args.requests} requests, null server (16 tokens, 2 ms apart)\n")
    print("| client | sent req/s | completed req/s | send lag ms p50 / p99 | TTFT ms p50 | command s |")
    print("|---|---|---|---|---|---|")
    print(row("--client-procs 2", procs, t_procs))
    print(row("--executor ray --client-shards 2", shards, t_shards))
    print("\n| shard | node | requests / planned | clock offset ms | uncertainty ms (RTT/2) |")
    print("|---|---|---|---|---|")
    for s in shards["load_run"]["client_shards"]["shards"]:
        print(f"| {s['shard']} | {s['node_id'][:8]} | {s['requests'][0]} / {s['requests_planned'][0]} | "
              f"{1000 * s['clock_offset_s']:+.3f} | {1000 * s['clock_uncertainty_s']:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
