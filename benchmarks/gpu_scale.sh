#!/usr/bin/env bash
# Scale-out on one host without Ray: an 8-point qwen3-1.7b sweep over 1 GPU and over 2 GPUs with the
# local executor (wall-time ratio; every point's decode tok/s on 2 GPUs against its CI on 1 GPU), then
# the qwen3-8b preset split over both GPUs with --devices (placement and peak memory per GPU).
# Usage on the 2-GPU machine, from the repo root: bash benchmarks/gpu_scale.sh OUTDIR   (< 8 min)
# A device call is capped at 10 minutes: STEPS="one_gpu" then STEPS="two_gpus split" runs it over two calls
# on the same warm machine, into the same OUTDIR (default STEPS: all three).
# On CPU (device ids are then task slots; no split):
#   DEVICE=cpu MODEL=tiny-qwen3 bash benchmarks/gpu_scale.sh /tmp/x
set -uo pipefail
OUT=${1:-/tmp/gpu-scale}; mkdir -p "$OUT"
STEPS=${STEPS:-one_gpu two_gpus split}
DEVICE=${DEVICE:-cuda}; MODEL=${MODEL:-qwen3-1.7b}; BIG=${BIG:-qwen3-8b}; LIMIT_S=${LIMIT_S:-300}  # per sweep
export PYTHONPATH=$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 INFERMETER_CACHE=/tmp/imcache
export INFERMETER_DB=$OUT/results.db
if [ "$DEVICE" = cpu ]; then
  # CPU: 2 small points; ids are task slots
  KNOBS=(--set max_new_tokens=4,6); SIZE=(--limit 4 --batch-size 1 --prompt-len 16)
else
  nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
  # 8 prompts a point: with 16, the 1-GPU sweep took 37-85 s a point (fresh process, model, passes) and
  # ~560 s in all on one H200, too close to a device call's 10 minutes.
  KNOBS=(--set batch_size=1,2,4,8 --set max_new_tokens=32,48); SIZE=(--limit "${PROMPTS:-8}" --prompt-len 128)
fi
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" \
  | tee -a "$OUT/gpu.txt"
common=(--model "$MODEL" --device "$DEVICE" --workload synthetic "${SIZE[@]}" --prompt-lens '' --batch-sizes ''
        --set probe_output_len=8 --quiet --json)

sweep() {  # name devices [more flags]: one sweep, its wall time in OUT/NAME.wall
  local name=$1 devs=$2; shift 2
  local t0; t0=$(date +%s.%N)
  timeout "$LIMIT_S" python3 -m infermeter sweep "${common[@]}" "${KNOBS[@]}" --output "$OUT/$name" --devices "$devs" "$@" \
    > "$OUT/$name.json" 2> "$OUT/$name.err" || echo "sweep $name failed: $(tail -1 "$OUT/$name.err")"
  python3 -c "import sys,time; print(time.time() - float(sys.argv[1]))" "$t0" > "$OUT/$name.wall"
}
step() { [[ " $STEPS " == *" $1 "* ]]; }
step one_gpu && sweep one_gpu 0
# its first point also runs alone first (subtracted from the wall time)
step two_gpus && sweep two_gpus 0,1 --check-interference

if ! step split; then
  :
elif [ "$DEVICE" = cpu ]; then
  echo "split over 2 GPUs: skipped on CPU" | tee "$OUT/split.txt"
else
  timeout 150 python3 -m infermeter run --model "$BIG" --devices cuda:0,cuda:1 --workload synthetic --limit 4 \
    --batch-size 1 --prompt-len 128 --max-new-tokens 32 --prompt-lens '' --batch-sizes '' --quiet --json \
    --output "$OUT/split" > "$OUT/split.json" 2> "$OUT/split.err" || echo "split run failed: $(tail -1 "$OUT/split.err")"
  # A GPU that does not exist: one clear line, non-zero exit.
  python3 -m infermeter run --model tiny-qwen3 --devices cuda:7 --quiet > /dev/null 2> "$OUT/bad_devices.err"
  echo "--devices cuda:7 -> exit $?: $(cat "$OUT/bad_devices.err")" | tee "$OUT/bad_devices.txt"
fi
python3 benchmarks/summarize_scale.py "$OUT" | tee "$OUT/summary.txt"
