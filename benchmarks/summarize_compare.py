"""Print the figures docs/benchmarks.md records from `infermeter compare --json` reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def summarize(path: Path) -> list[str]:
    """Lines for one compare report (or why there is none)."""
    try:
        c = json.loads(path.read_text())["compare"]
    except (OSError, json.JSONDecodeError, KeyError) as err:
        return [f"{path.stem}: no report ({type(err).__name__})"]
    out = [f"== {path.stem}"]
    for name, v in c.get("variants", {}).items():
        s = v["summary"]
        d, e, f = s["decode_tps"], s["e2e_s"], s["first_call_s"]
        out.append(
            f"{name:10s} decode {d['mean']:.1f} [{d['ci95_low']:.1f},{d['ci95_high']:.1f}] tok/s n={d['n']} "
            f"E2E {1e3 * e['mean']:.1f} ms first call {f['mean']:.2f} s (n={f['n']}) load {s['load_s']['mean']:.2f} s"
        )
    out += [r["verdict"] for r in c.get("ratios", [])]
    if "orders" in c:
        out.append(f"rounds {c['rounds']} orders {c['orders']}")
    for label, results in c.get("inline", {}).get("sequences", {}).items():
        for r in results:
            out.append(
                f"inline {label} pos{r['position'] + 1} {r['variant']:9s} decode {r['steady']['decode_tps']:.1f} "
                f"tok/s E2E {1e3 * r['steady']['e2e_s']:.1f} ms | {r['cleanup_summary']}"
            )
    out += [e["verdict"] for e in c.get("inline", {}).get("order_effects", [])]
    for r in c.get("warmup_table", []):
        out.append(
            f"warmup {r['warmup']:16s} {r['variant']:9s} first call {r['first_call_s']:.3f} s first measured "
            f"{1e3 * r['first_measured_e2e_s']:.1f} ms steady {1e3 * r['steady_e2e_s']:.1f} ms "
            f"speedup first {r['speedup_first_measured']:.2f}x steady {r['speedup_steady']:.2f}x"
        )
    return out


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print("\n".join(summarize(Path(p))))
