"""Summary table of benchmarks/gpu_sol.sh: calibrate vs bare script, MBU/MFU, energy, tune."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _load(path: Path) -> dict | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    for candidate in (text, text.splitlines()[-1] if text else ""):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def main(out: Path) -> None:
    """Print the summary."""
    cal, bare = _load(out / "calibrate.json"), _load(out / "bare.json")
    print("== calibrate vs a bare script (same call)")
    if cal and bare:
        c_bw, c_mm = cal["copy_bandwidth"]["mean"], cal["matmul"]["bfloat16"]["mean"]
        print(
            f"copy bandwidth  calibrate {c_bw / 1e9:10.1f} GB/s  bare {bare['copy_bandwidth'] / 1e9:10.1f} GB/s"
            f"  ratio {c_bw / bare['copy_bandwidth']:.3f}"
        )
        print(
            f"bf16 matmul     calibrate {c_mm / 1e12:10.2f} TFLOP/s bare {bare['matmul_bfloat16'] / 1e12:10.2f} TFLOP/s"
            f" ratio {c_mm / bare['matmul_bfloat16']:.3f}  (matrix sides may differ on CPU)"
        )
    print("== roofline of runs (decode MBU = bytes per step x steps/s / copy bandwidth)")
    for name in ("run_eager", "run_compiled"):
        rep = _load(out / f"{name}.json")
        if not rep:
            print(f"{name}: missing")
            continue
        m = rep["metrics"]
        r, tps = m.get("roofline") or {}, (m.get("decode_tps") or {}).get("mean")
        step = r.get("bytes_per_decode_step_batch1")
        bw = (r.get("decode_bandwidth") or {}).get("mean")
        check = (
            f"tok/s x bytes = {tps * step / 1e9:.1f} GB/s vs reported {bw / 1e9:.1f} GB/s"
            if tps and step and bw
            else ""
        )
        print(
            f"{name:13s} decode {tps or 0:8.1f} tok/s  MBU {_pct((r.get('mbu') or {}).get('mean'))}"
            f"  MFU {_pct((r.get('mfu') or {}).get('mean'))}"
            f"  limit {r.get('limit_tps_batch1') or 0:,.0f} tok/s  {check}"
        )
        e = m.get("energy") or {}
        if not e.get("available"):
            print(f"{'':13s} energy: {e.get('reason')}")
            continue
        rows = {b["batch_size"]: b["j_per_token"] for b in e.get("by_batch_size") or []}
        d = e.get("dataset") or {}
        line = f"{'':13s} energy {d.get('j_per_token') or 0:.3f} J/token (dataset), peak {e.get('peak_w') or 0:.0f} W"
        if len(rows) >= 2:
            lo, hi = min(rows), max(rows)
            line += f"; batch {lo}: {rows[lo]:.4f} J/token, batch {hi}: {rows[hi]:.4f} J/token"
            line += f" ({rows[lo] / rows[hi]:.1f}x less per token at batch {hi})"
        print(line)
    print("== tune")
    t = (_load(out / "tune.json") or {}).get("tune")
    if not t:
        print("tune: missing (see tune.err)")
        return
    from infermeter.render.console_tune import lines

    for line in lines({"tune": t}):
        print(line)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
