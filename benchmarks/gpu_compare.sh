#!/usr/bin/env bash
# `infermeter compare` on a GPU, one call: qwen3-1.7b eager (dynamic cache) vs compiled (static cache):
# the speedup with CI (process isolation), the inline run-order diagnosis in both orders (a full
# cleanup, and a deliberately broken one), and warm-up-strategy table.
# Usage on the GPU machine, from the repo root: bash benchmarks/gpu_compare.sh OUTDIR
set -uo pipefail
OUT=${1:-/tmp/gpu-compare}; mkdir -p "$OUT"
export PYTHONPATH=$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 INFERMETER_CACHE=/tmp/imcache
[ "${SKIP_TESTS:-0}" = 1 ] || python3 -m pytest -q -p no:cacheprovider -m gpu tests/gpu tests/unit/optimize 2>&1 \
  | tail -3 | tee "$OUT/gpu_tests.txt"
common=(--model qwen3-1.7b --device cuda --prompt-len 128 --max-new-tokens 64 --calls 4
        --variant eager:kv_cache=dynamic,compile=off --variant compiled:kv_cache=static,compile=auto
        --quiet --json --output /tmp/gpu-compare-results)
cmp() { local name=$1 limit=$2; shift 2; timeout "$limit" python3 -m infermeter compare "${common[@]}" "$@" \
          > "$OUT/$name.json" 2> "$OUT/$name.err" || echo "compare $name failed: $(tail -1 "$OUT/$name.err")"; }
# Each qwen3-1.7b worker costs ~25-35 s (imports, random init, compile), so rounds are few here.
cmp isolated 200 --rounds 2 --max-rounds 3 --calls 3
cmp warmups 240 --rounds 0 --warmup-compare --calls 3
cmp inline_full 110 --isolation inline --cleanup full
[ "${SKIP_BROKEN:-0}" = 1 ] || cmp inline_broken 110 --isolation inline --cleanup gc --retain-previous
python3 benchmarks/summarize_compare.py "$OUT"/*.json | tee "$OUT/summary.txt"
