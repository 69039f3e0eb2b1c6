#!/usr/bin/env bash
# One GPU validation, one call: GPU tests, overhead vs bare generate(), and `infermeter run` on the
# qwen3-1.7b preset (bf16, prompt 128, 128 new tokens, batch 1 and 64, dynamic and static cache).
# Usage on the GPU machine, from the repo root: bash benchmarks/gpu_validation.sh OUTDIR
set -uo pipefail
OUT=${1:-/tmp/gpu-out}; mkdir -p "$OUT"
export PYTHONPATH=$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 INFERMETER_CACHE=/tmp/imcache
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"

python3 -m pytest -q -p no:cacheprovider -m gpu tests/gpu 2>&1 | tail -5 | tee "$OUT/gpu_tests.txt"

python3 benchmarks/overhead.py --model qwen3-1.7b --device cuda --batch 1,64 --kv-cache dynamic,static \
  --prompt 128 --new 128 --rounds 8 2>&1 | grep -v Warning | tee "$OUT/overhead_1.7b.txt"
python3 benchmarks/overhead.py --model tiny-qwen3 --device cuda --batch 1 --kv-cache dynamic \
  --prompt 128 --new 128 --rounds 10 2>&1 | grep -v Warning | tee "$OUT/overhead_tiny.txt"

common=(--model qwen3-1.7b --device cuda --workload synthetic --prompt-len 128 --max-new-tokens 128
        --set probe_prompt_len=128 --set probe_output_len=128 --quiet --json --output /tmp/gpu-results)
run() { local name=$1; shift; timeout 150 python3 -m infermeter run "${common[@]}" "$@" > "$OUT/run_$name.json" \
          2> "$OUT/run_$name.err" || echo "run $name failed: $(tail -1 "$OUT/run_$name.err")"; }
run dyn_b1 --batch-size 1 --limit 5 --prompt-lens 128,512,2048 --batch-sizes 1,8,64
run dyn_b64 --batch-size 64 --limit 128 --prompt-lens '' --batch-sizes ''
run static_b1 --kv-cache static --batch-size 1 --limit 5 --prompt-lens '' --batch-sizes ''
run static_b64 --kv-cache static --batch-size 64 --limit 128 --prompt-lens '' --batch-sizes ''
# What the compile knob does on its own: static cache without compile, dynamic cache with compile.
run static_nocompile_b1 --kv-cache static --compile off --batch-size 1 --limit 3 --prompt-lens '' --batch-sizes ''
run dyn_compile_b1 --compile on --batch-size 1 --limit 3 --prompt-lens '' --batch-sizes ''
python3 benchmarks/summarize_runs.py "$OUT"/run_*.json | tee "$OUT/runs_summary.txt"
