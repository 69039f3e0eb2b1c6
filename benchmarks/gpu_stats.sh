#!/usr/bin/env bash
# Do infermeter's CIs cover what a fresh process measures? The same `infermeter run` (qwen3-1.7b
# preset, bf16, synthetic prompt 128, 128 new tokens forced) 3 times in fresh processes, at batch 1
# and batch 64; for every headline mean, each run's 95% CI is checked against the other runs' means.
# Usage on the GPU machine, from the repo root: bash benchmarks/gpu_stats.sh OUTDIR
# On CPU (< 3 min): DEVICE=cpu MODEL=tiny-qwen3 bash benchmarks/gpu_stats.sh /tmp/x
set -uo pipefail
OUT=${1:-/tmp/gpu-stats}; mkdir -p "$OUT"
DEVICE=${DEVICE:-cuda}; MODEL=${MODEL:-qwen3-1.7b}
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 INFERMETER_CACHE=${INFERMETER_CACHE:-/tmp/imcache}
if [ "$DEVICE" = cpu ]; then NEW=16; B64=8; LIMIT1=2; else NEW=128; B64=64; LIMIT1=4; fi
common=(--model "$MODEL" --device "$DEVICE" --workload synthetic --prompt-len 128 --max-new-tokens "$NEW"
        --prompt-lens '' --batch-sizes '' --warmup different-input --quiet --json --output "$OUT/results"
        --set measure.dataset_budget_s=40)
for b in 1 "$B64"; do
  limit=$([ "$b" = 1 ] && echo "$LIMIT1" || echo "$b")
  for k in 1 2 3; do  # each a fresh CLI process with its own worker process
    timeout 170 python3 -m infermeter run "${common[@]}" --batch-size "$b" --limit "$limit" --seed "$k" \
      > "$OUT/run_b${b}_$k.json" 2> "$OUT/run_b${b}_$k.err" || echo "run b$b #$k failed: $(tail -1 "$OUT/run_b${b}_$k.err")"
  done
done
python3 - "$OUT" <<'PY'
import json, sys, glob, os
out = sys.argv[1]
keys = [("ttft_s", 1e3, "ms"), ("tpot_s", 1e3, "ms"), ("e2e_s", 1e3, "ms"), ("decode_tps", 1, "tok/s"),
        ("output_throughput_passes", 1, "tok/s")]
rows, bad = [], 0
for b in sorted({os.path.basename(p).split("_")[1] for p in glob.glob(f"{out}/run_b*_*.json")}, key=lambda s: int(s[1:])):
    reps = []
    for p in sorted(glob.glob(f"{out}/run_{b}_*.json")):
        try:
            reps.append(json.load(open(p)))
        except ValueError:
            pass
    for key, scale, unit in keys:
        ds = [r["metrics"].get(key) for r in reps]
        if len(ds) < 2 or any(d is None for d in ds):
            continue
        for i, d in enumerate(ds):
            others = [o["mean"] for j, o in enumerate(ds) if j != i]
            lo, hi = d.get("ci95_low"), d.get("ci95_high")
            if lo is None:
                verdict = "no CI (" + str(d.get("units")) + " unit)"
            else:
                ok = all(lo <= m <= hi for m in others)
                verdict = "covers" if ok else "MISSES"
                bad += not ok
            ci = "-" if lo is None else f"[{lo*scale:.4g}, {hi*scale:.4g}]"
            rows.append((b, key, i + 1, f"{d['mean']*scale:.4g} {unit}", ci, d.get("units"),
                         ", ".join(f"{m*scale:.4g}" for m in others), verdict))
    warn = sorted({w for r in reps for w in r.get("warnings", []) if "unit" in w or "stdev" in w or "GPU" in w})
    for w in warn:
        rows.append((b, "warning", "", "", "", "", "", w[:110]))
print(f"{'batch':6} {'metric':25} {'run':3} {'mean':>14} {'95% CI':>22} {'units':>5}  other runs' means -> verdict")
for r in rows:
    print(f"{r[0]:6} {r[1]:25} {str(r[2]):3} {r[3]:>14} {r[4]:>22} {str(r[5]):>5}  {r[6]} -> {r[7]}")
print(f"CIs missing another run's mean: {bad}")
PY
