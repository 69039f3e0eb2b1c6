"""Summary of benchmarks/gpu_scale.sh: wall-time ratio, per-point decode speed on 2 GPUs vs its CI on 1
GPU, and the split model's placement and peak memory per GPU. Usage: python3 summarize_scale.py OUTDIR"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from infermeter.executors.interference import welch


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _run_metrics(entry: dict) -> dict:
    report = _load(Path(entry["run_dir"]) / "report.json") if entry.get("run_dir") else None
    return ((report or {}).get("metrics") or {}).get("decode_tps") or {}


def sweeps(out: Path) -> None:
    """Wall ratio and the per-point table."""
    one, two = _load(out / "one_gpu.json"), _load(out / "two_gpus.json")
    if not one or not two:
        print("sweeps: missing (see one_gpu.err / two_gpus.err)")
        return
    w1, w2 = (float((out / f"{n}.wall").read_text()) for n in ("one_gpu", "two_gpus"))
    inter = two["sweep"].get("interference") or {}
    alone_s = (inter.get("alone") or {}).get("wall_s") or 0.0  # the interference check's solo run
    print(
        f"sweep wall time: 1 GPU {w1:.1f} s, 2 GPUs {w2 - alone_s:.1f} s (+{alone_s:.1f} s for the point run alone), "
        f"ratio {(w2 - alone_s) / w1:.3f} (target <= 0.55)"
    )
    for line in inter.get("lines") or []:
        print(f"interference check ({inter.get('point')}): {line}")
    ref = {p["label"]: p for p in one["sweep"]["points"]}
    print(f"{'point':<32} {'1 GPU tok/s [95% CI]':>26} {'2 GPUs tok/s':>13} {'GPU':>4} {'in CI':>6} {'diff [CI]':>22}")
    inside = 0
    for p in two["sweep"]["points"]:
        a, b = _run_metrics(ref[p["label"]]), _run_metrics(p)
        if not a or not b:
            print(f"{p['label']:<32} {p['status']}")
            continue
        lo, hi = (a.get("ci95_low"), a.get("ci95_high")) if (a.get("n") or 0) >= 2 else (None, None)
        ok = lo is not None and hi is not None and lo <= b["mean"] <= hi
        inside += ok
        d = welch(a, b)
        diff = f"{100 * d['relative']:+.1f}% [{100 * d['ci95_low']:+.1f}, {100 * d['ci95_high']:+.1f}]" if d else "-"
        ci = f"{a['mean']:.1f} [{lo:.1f}, {hi:.1f}]" if lo is not None else f"{a['mean']:.1f} [n={a.get('n')}]"
        gpu = ",".join(map(str, (p.get("placement") or {}).get("gpu_ids") or []))
        verdict = "-" if lo is None else "yes" if ok else "no"
        print(f"{p['label']:<32} {ci:>26} {b['mean']:>13.1f} {gpu:>4} {verdict:>6} {diff:>22}")
    print(f"points whose 2-GPU decode tok/s lies inside the 1-GPU CI: {inside} of {len(two['sweep']['points'])}")


def split(out: Path) -> None:
    """Placement and per-GPU memory of the split model."""
    data = _load(out / "split.json")
    if not data:
        print((out / "split.txt").read_text().strip() if (out / "split.txt").exists() else "split: no report")
        return
    load = data.get("load") or {}
    extra = load.get("extra") or {}
    mem = ((data.get("metrics") or {}).get("memory") or {}).get("peak") or {}
    print(f"split {load.get('model')} over {load.get('device')}: load {load.get('load_s', 0):.1f} s")
    for dev, row in sorted((extra.get("per_device") or {}).items()):
        peak = (mem.get("per_device") or {}).get(dev)
        peak_s = f"{peak / 2**30:.2f} GiB" if peak else "-"
        print(f"  {dev}: {row['tensors']} tensors, weights {row['bytes'] / 2**30:.2f} GiB, peak allocated {peak_s}")
    layers = {}
    for module, dev in (extra.get("device_map") or {}).items():
        layers.setdefault(dev, []).append(module)
    for dev, mods in sorted(layers.items()):
        print(f"  declared on {dev}: {len(mods)} modules, first {mods[0]}, last {mods[-1]}")
    tps = ((data.get("metrics") or {}).get("decode_tps") or {}).get("mean")
    print(f"  decode tok/s (batch 1): {tps:.1f}" if tps else "  decode tok/s: -")


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    sweeps(folder)
    split(folder)
    bad = folder / "bad_devices.txt"
    if bad.exists():
        print(bad.read_text().strip())
