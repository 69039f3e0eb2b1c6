#!/usr/bin/env bash
# `infermeter compare` on a GPU, one call: qwen3-1.7b eager (dynamic cache) vs compiled (static cache):
# the speedup with CI (process isolation), the inline run-order diagnosis in both orders (a full
# cleanup, and a deliberately broken one), and seed 000's warm-up-strategy table.
# Usage on the GPU machine, from the repo root: bash benchmarks/gpu_compare.sh OUTDIR
set -uo pipefail
OUT=${1:-/tmp/gpu-compare}; mkdir -p "$OUT"
export PYTHONPATH=$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 INFERMETER_CACHE=/tmp/imcache
python3 -m pytest -q -p no:cacheprovider -m gpu tests/gpu tests/unit/optimize 2>&1 | tail -3 | tee "$OUT/gpu_tests.txt"
common=(--model qwen3-1.7b --device cuda --prompt-len 128 --max-new-tokens 64 --calls 4
        --variant eager:cache=dynamic,compile=off --variant compiled:cache=static,compile=auto
        --quiet --json --output /tmp/gpu-compare-results)
cmp() { local name=$1 limit=$2; shift 2; timeout "$limit" python3 -m infermeter compare "${common[@]}" "$@" \
          > "$OUT/$name.json" 2> "$OUT/$name.err" || echo "compare $name failed: $(tail -1 "$OUT/$name.err")"; }
cmp isolated 200 --rounds 4 --max-rounds 6 --target-ci 0.02
cmp inline_full 100 --isolation inline --cleanup full
cmp inline_broken 100 --isolation inline --cleanup gc --retain-previous
cmp warmups 200 --rounds 2 --max-rounds 2 --warmup-compare
python3 benchmarks/summarize_compare.py "$OUT"/*.json | tee "$OUT/summary.txt"
