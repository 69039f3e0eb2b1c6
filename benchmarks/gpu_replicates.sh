#!/usr/bin/env bash
# Within-process vs between-process CIs: `infermeter run --processes 3` (qwen3-1.7b preset, bf16,
# synthetic prompt 128, 128 new tokens forced) at batch 1 and batch 64. For each headline metric it
# prints the between-process CI half-width (unit: process, n = 3) beside the mean within-process one
# (unit: generate() call or pass), their ratio, and whether each process's own CI covers the other
# processes' means.
# Usage on the GPU machine, from the repo root: bash benchmarks/gpu_replicates.sh OUTDIR
# On CPU (< 3 min): DEVICE=cpu MODEL=tiny-qwen3 bash benchmarks/gpu_replicates.sh /tmp/x
set -uo pipefail
OUT=${1:-/tmp/gpu-replicates}; mkdir -p "$OUT"
DEVICE=${DEVICE:-cuda}; MODEL=${MODEL:-qwen3-1.7b}
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 INFERMETER_CACHE=${INFERMETER_CACHE:-/tmp/imcache}
if [ "$DEVICE" = cpu ]; then NEW=8; PLEN=32; B64=4; LIMIT1=2; BUDGET=3; MAXREP=2
else NEW=128; PLEN=128; B64=64; LIMIT1=4; BUDGET=20; MAXREP=20; fi
common=(--model "$MODEL" --device "$DEVICE" --workload synthetic --prompt-len "$PLEN" --max-new-tokens "$NEW"
        --prompt-lens '' --batch-sizes '' --warmup different-input --quiet --json --output "$OUT/results"
        --processes 3 --set measure.dataset_budget_s=$BUDGET --set measure.max_repeats=$MAXREP
        --set probe_prompt_len=16 --set probe_output_len=8)
for b in 1 "$B64"; do
  limit=$([ "$b" = 1 ] && echo "$LIMIT1" || echo "$b")
  timeout 175 python3 -m infermeter run "${common[@]}" --batch-size "$b" --limit "$limit" \
    > "$OUT/run_b$b.json" 2> "$OUT/run_b$b.err" || echo "run b$b failed: $(tail -1 "$OUT/run_b$b.err")"
done
python3 - "$OUT" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
scale = {"s": (1e3, "ms"), "bytes": (2**-30, "GiB")}
rows, missed, checked = [], 0, 0
for path in sorted(glob.glob(f"{out}/run_b*.json"), key=lambda p: int(os.path.basename(p)[5:-5])):
    b = os.path.basename(path)[4:-5]
    try:
        data = json.load(open(path))
    except ValueError:
        continue
    sec = data.get("processes") or {}
    for key, d in (sec.get("metrics") or {}).items():
        unit = "s" if key.endswith("_s") else "bytes" if key in ("rss", "torch_allocated", "torch_reserved", "nvml_process") else "tok/s"
        f, u = scale.get(unit, (1, unit))
        g = lambda v: "-" if v is None else f"{v * f:.4g}"
        bt = d["between"]
        ratio = "-" if d.get("spread_ratio") is None else f"{d['spread_ratio']:.2f}"
        cov = "-"
        if d.get("checked"):
            cov = f"{d['covered']}/{d['checked']}"
            missed += d["checked"] - d["covered"]
            checked += d["checked"]
        rows.append((b, key, f"{g(bt['mean'])} {u}", g(d.get("between_halfwidth")), g(d.get("within_halfwidth")), ratio, cov,
                     ", ".join(g(v) for v in d["per_process"])))
    for w in data.get("warnings", []):
        if "between-process" in w:
            rows.append((b, "warning", "", "", "", "", "", w[:150]))
print(f"{'batch':5} {'metric':22} {'mean':>14} {'CI+- between':>12} {'CI+- within':>11} {'spread/within':>13} {'within CI covers others':>23}  per process")
for r in rows:
    print(f"{r[0]:5} {r[1]:22} {r[2]:>14} {r[3]:>12} {r[4]:>11} {r[5]:>13} {r[6]:>23}  {r[7]}")
print(f"within-process CIs missing another process's mean: {missed} of {checked} checks")
PY
