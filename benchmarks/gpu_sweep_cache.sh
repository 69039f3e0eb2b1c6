#!/usr/bin/env bash
# One GPU call for two checks: `infermeter sweep` over knobs with the VLM preset on
# easy-VQA (one-at-a-time design, every point its own worker), and the response-cache benchmark
# (the one-input cache benchmark redone) on qwen3-0.6b. Usage on the GPU machine from the repo root: bash THIS OUTDIR
set -uo pipefail
OUT=${1:-/tmp/gpu-sweep-cache}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 INFERMETER_CACHE=${INFERMETER_CACHE:-/tmp/imcache}
export INFERMETER_DB=$OUT/results.db
# the first worker on a fresh machine runs slow (docs/benchmarks.md §6): one throwaway run first
"$PY" -m infermeter run --model qwen2.5-vl-3b --device cuda --workload easy-vqa --limit 2 --batch-size 1 \
  --max-new-tokens 8 --prompt-lens '' --batch-sizes '' --quiet --output "$OUT/warm" > /dev/null 2>&1
timeout ${SWEEP_S:-330} "$PY" -m infermeter sweep --model qwen2.5-vl-3b --device cuda --workload easy-vqa --limit 16 \
  --batch-size 1 --do-sample --seed 0 --force-output-len --design one-at-a-time --prompt-lens '' --batch-sizes '' \
  --set num_beams=1,2,4 --set max_new_tokens=32,128 --set temperature=1.0,0.7 --set top_k=null,50 \
  --set top_p=1.0,0.9 --output "$OUT/sweep" 2>&1 | tee "$OUT/sweep.txt"
timeout ${CACHE_S:-240} "$PY" benchmarks/cache_honest.py --model qwen3-0.6b --device cuda --requests 100 2>&1 |
  tee "$OUT/cache.txt"
