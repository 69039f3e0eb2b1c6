#!/usr/bin/env bash
# Bad input refused before anything loads, and a failed compare variant kept, on the GPU machine:
#  1. a prompt past the model's context (qwen3-1.7b: 40,960 positions) is refused in seconds, no model loaded;
#  2. the same through the in-process vLLM engine with engine.max_model_len=512 (skipped without vLLM);
#  3. a sweep of 12,100 points is refused unless --yes-large-sweep;
#  4. a compare whose variant b asks for an absent GPU (cuda:99) ends "failed", keeps variant a's
#     calls, and `report` renders it in every format;
#  5. load memory: 200,000 requests against serve-null with 8 client processes (RSS at checkpoints).
# Usage on the GPU machine, from the repo root: bash benchmarks/gpu_hostile.sh OUTDIR
# On CPU (< 3 min): DEVICE=cpu MODEL=tiny-qwen3 bash benchmarks/gpu_hostile.sh /tmp/x
set -uo pipefail
OUT=${1:-/tmp/gpu-hostile}; mkdir -p "$OUT"
DEVICE=${DEVICE:-cuda}; MODEL=${MODEL:-qwen3-1.7b}
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 INFERMETER_CACHE=${INFERMETER_CACHE:-/tmp/imcache}
export INFERMETER_DB="$OUT/results.db"
if [ "$DEVICE" = cpu ]; then REQ=10000; PROCS=2; else REQ=200000; PROCS=8; fi
SUMMARY="$OUT/summary.tsv"; : > "$SUMMARY"
step() {  # name, expected exit code, command...: runs it, records exit code, seconds and the last stderr line
  local name=$1 want=$2; shift 2
  local t0=$SECONDS
  timeout 300 "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"; local rc=$?
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$want" "$rc" "$((SECONDS - t0))" "$(tail -1 "$OUT/$name.err" | cut -c1-150)" >> "$SUMMARY"
}
im=(python3 -m infermeter)
step run-too-long 2 "${im[@]}" run --model "$MODEL" --device "$DEVICE" --workload synthetic --prompt-len 40950 \
  --max-new-tokens 64 --quiet --output "$OUT/results"
if python3 -c "import vllm" 2>/dev/null; then
  step vllm-too-long 2 "${im[@]}" run --backend vllm --model "$MODEL" --device "$DEVICE" --workload synthetic \
    --prompt-len 500 --max-new-tokens 64 --set engine.max_model_len=512 --quiet --output "$OUT/results"
fi
grid=(--set "prompt_len=$(seq -s, 16 26)" --set "top_k=$(seq -s, 1 11)" --set "max_new_tokens=$(seq -s, 1 100)")
step sweep-huge 2 "${im[@]}" sweep --model "$MODEL" --device "$DEVICE" --workload synthetic "${grid[@]}" --quiet \
  --output "$OUT/results"
step compare-absent-gpu 2 "${im[@]}" compare --model "$MODEL" --device "$DEVICE" --workload synthetic --prompt-len 64 \
  --max-new-tokens 16 --calls 3 --rounds 2 --max-rounds 2 --variant a:device="$DEVICE" --variant b:device=cuda:99 \
  --quiet --output "$OUT/compare"
CMP=$(ls -d "$OUT"/compare/*/ 2>/dev/null | head -1)
if [ -n "$CMP" ]; then
  step report-console 0 "${im[@]}" report "$CMP"
  for f in html md csv; do step "report-$f" 0 "${im[@]}" report "$CMP" --$f "$OUT/compare.$f"; done
fi
t0=$SECONDS
timeout 1200 python3 benchmarks/load_memory.py --requests "$REQ" --client-procs "$PROCS" --chunk-tokens 8 \
  > "$OUT/load_memory.txt" 2> "$OUT/load_memory.err"
printf 'load-memory\t0\t%s\t%s\t%s\n' "$?" "$((SECONDS - t0))" "$(grep growth "$OUT/load_memory.txt" | cut -c1-150)" >> "$SUMMARY"
cat "$OUT/load_memory.txt"
python3 - "$SUMMARY" "$CMP" <<'PY'
import json, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
if sys.argv[2]:
    rep = json.load(open(sys.argv[2] + "report.json"))
    failed = (rep.get("compare") or {}).get("failed") or {}
    kept = {n: len(v["rounds"]) for n, v in (rep.get("compare") or {}).get("variants", {}).items()}
    print(f"compare: status {rep['status']}; failed variant {failed.get('variant')} "
          f"(round {failed.get('round', -1) + 1}); rounds kept per variant {kept}")
print(f"{'step':20} {'want':>4} {'got':>4} {'s':>5}  last line")
for name, want, got, secs, line in rows:
    print(f"{name:20} {want:>4} {got:>4} {secs:>5}  {'ok ' if want == got else 'BAD'} {line}")
PY
