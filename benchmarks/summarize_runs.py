"""Print one line per `infermeter run --json` report: the figures docs/benchmarks.md records."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def line(path: Path) -> str:
    """A table row for one report file (or why it is missing)."""
    try:
        r = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        return f"{path.stem}: no report ({err.__class__.__name__})"
    m, cfg = r["metrics"], r["config"]
    dec, ttft, tpot = m["decode_tps"], m["ttft_s"], m["tpot_s"]
    mem = m["memory"].get("peak") or {}
    gb = (mem.get("torch_allocated") or 0) / 1e9
    fc = r.get("first_call") or {}
    extra = ""
    if m.get("context_load"):
        extra += " ctx " + " ".join(
            f"{p['prompt_tokens']}:{1e3 * p['ttft']['mean']:.1f}ms" for p in m["context_load"]["points"]
        )
    if m.get("batch_efficiency"):
        extra += " batch " + " ".join(
            f"b{p['batch_size']}:{p['throughput']['mean']:.0f}tok/s({p['efficiency']:.0%})"
            for p in m["batch_efficiency"]["points"]
            if p["throughput"]
        )
    kv = cfg["model"].get("kv_cache", cfg["model"].get("cache"))
    return (
        f"{path.stem:12s} cache={kv:7s} b={cfg['workload']['batch_size']:<3d} "
        f"decode {dec['mean']:8.1f} tok/s [{dec['ci95_low']:.1f},{dec['ci95_high']:.1f}] n={dec['n']} "
        f"TTFT {1e3 * ttft['mean']:.1f} ms TPOT {1e3 * tpot['mean']:.2f} ms "
        f"peak alloc {gb:.2f} GB "
        f"first/steady {fc.get('first_call_s', 0):.2f}/{fc.get('steady_call_s', 0):.2f}s"
        f"{extra} warnings={len(r['warnings'])}"
    )


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(line(Path(p)))
