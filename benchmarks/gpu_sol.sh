#!/usr/bin/env bash
# Speed of light on a GPU, one call: `calibrate` against a bare copy/matmul script run in the same
# call; the roofline (MBU, MFU) of qwen3-1.7b at batch 1 eager and with static cache + compile; energy
# per token at batch 1 vs 64; and `tune` on qwen3-1.7b (synthetic, batch 1). Prints a summary last.
# Usage from the repo root:  bash benchmarks/gpu_sol.sh OUTDIR          (about 7 minutes on an H200)
#                 on a CPU:  DEVICE=cpu MODEL=tiny-qwen3 bash benchmarks/gpu_sol.sh /tmp/x
set -uo pipefail
OUT=${1:-/tmp/gpu-sol}; mkdir -p "$OUT"
DEVICE=${DEVICE:-cuda}; MODEL=${MODEL:-qwen3-1.7b}
export PYTHONPATH=$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export INFERMETER_CACHE=${INFERMETER_CACHE:-/tmp/imcache} INFERMETER_DB=off
RES=/tmp/gpu-sol-results
if [ "$DEVICE" = cpu ]; then  # the same recipe, shrunk to minutes on a small CPU
  # torch.compile on a CPU takes minutes: the CPU ladder checks the recipe with one cheap candidate
  NEW=8; PROMPT=16; BIG=8; QUICK=--quick; TUNE_BUDGET=${TUNE_BUDGET:-60s}; TUNE_CANDS=eager; TUNE_NEW=8
else
  NEW=128; PROMPT=128; BIG=64; QUICK=; TUNE_BUDGET=${TUNE_BUDGET:-270s}; TUNE_CANDS=static
  TUNE_NEW=64  # the shape of docs/benchmarks.md's `compare` figure (eager vs compiled, 4.29x [3.81, 4.83])
fi
step() { local name=$1 limit=$2; shift 2; timeout "$limit" python3 -m infermeter "$@" > "$OUT/$name.json" \
           2> "$OUT/$name.err" || echo "$name failed: $(tail -1 "$OUT/$name.err")"; }

# 1. ceilings: infermeter calibrate, then a bare script measuring the same two things in the same call
step calibrate 120 calibrate --device "$DEVICE" --force --json $QUICK
python3 - "$DEVICE" > "$OUT/bare.json" 2> "$OUT/bare.err" <<'PY' || echo "bare script failed: $(tail -1 "$OUT/bare.err")"
import json, sys, time, torch
dev = sys.argv[1]; cuda = dev.startswith("cuda")
def timeit(fn, reps=10):
    for _ in range(2): fn()
    out = []
    for _ in range(reps):
        if cuda: torch.cuda.synchronize()
        t = time.perf_counter(); fn()
        if cuda: torch.cuda.synchronize()
        out.append(time.perf_counter() - t)
    return sorted(out)[len(out) // 2]
nb = 2**30 if cuda else 2**25
a = torch.empty(nb, dtype=torch.uint8, device=dev); b = torch.empty_like(a)
copy = 2 * nb / timeit(lambda: b.copy_(a)); del a, b
n = 8192 if cuda else 128
x = torch.randn(n, n, device=dev, dtype=torch.bfloat16); y = torch.randn_like(x)
mm = 2 * n**3 / timeit(lambda: x @ y)
print(json.dumps({"copy_bandwidth": copy, "matmul_bfloat16": mm}))
PY

# 2. roofline and energy of runs: batch 1 eager (plus the batch 1 / BIG curve), batch 1 static + compile
common=(run --model "$MODEL" --device "$DEVICE" --workload synthetic --limit 4 --batch-size 1
        --prompt-len "$PROMPT" --max-new-tokens "$NEW" --set measure.prompt_lens=[] --set measure.probe_output_len=$NEW
        --set measure.probe_prompt_len=$PROMPT --quiet --json --output "$RES")
step run_eager 200 "${common[@]}" --kv-cache dynamic --compile off --batch-sizes 1,$BIG
step run_compiled 200 "${common[@]}" --kv-cache static --compile on --set measure.batch_sizes=[]

# 3. tune: the ladder at batch 1: static cache, static cache + compile (a larger batch is left out: it
#    trades latency for throughput and would top a decode-TPS ranking for that reason alone)
step tune 420 tune --model "$MODEL" --device "$DEVICE" --workload synthetic --batch-size 1 --limit 4 \
  --prompt-len "$PROMPT" --max-new-tokens "$TUNE_NEW" --budget "$TUNE_BUDGET" --candidates "$TUNE_CANDS" \
  --write-config "$OUT/best.yaml" --json --output "$RES"
python3 benchmarks/summarize_sol.py "$OUT" | tee "$OUT/summary.txt"
