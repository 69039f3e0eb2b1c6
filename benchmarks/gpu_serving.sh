#!/usr/bin/env bash
# `load` as a vLLM/GuideLLM user runs it: startup of the light client, trace replay send lag, the
# serving datasets end to end, and (where vLLM is importable and DEVICE=cuda) infermeter beside
# `vllm bench serve` on one ShareGPT sample against one vLLM server, in one side-by-side table.
# Usage from the repo root: bash benchmarks/gpu_serving.sh OUTDIR      (H200: < 8 min)
#                           DEVICE=cpu bash benchmarks/gpu_serving.sh /tmp/x   (CPU: < 3 min, no vLLM part)
set -uo pipefail
OUT=${1:-/tmp/gpu-serving}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
MODEL=${MODEL:-smollm2-135m}   # what vLLM serves (converted from the embedded GGUF, no download)
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 INFERMETER_CACHE=${INFERMETER_CACHE:-/tmp/imcache}
export INFERMETER_DB=$OUT/results.db
S=src/infermeter/workloads/samples
summary=()

# 1. Startup: process start -> first request sent, light client vs a local model's tokenizer.
timeout 300 "$PY" benchmarks/load_startup.py --rounds "${ROUNDS:-$([ "$DEVICE" = cpu ] && echo 1 || echo 5)}" 2>&1 | tee "$OUT/startup.txt"

# 2. Trace replay against the null server (TTFT 20 ms): how late each request left vs its timestamp.
"$PY" -m infermeter serve-null --port 0 --tokens 32 --pace-ms 2 --ttft-ms 20 > "$OUT/null.log" 2>&1 &
NULL_PID=$!
for _ in $(seq 50); do grep -q "http://" "$OUT/null.log" && break; sleep 0.2; done
NULL_URL=$(grep -o "http://[0-9.:]*" "$OUT/null.log" | head -1)
L=(load --base-url "$NULL_URL" --output "$OUT/null" --quiet --json)
"$PY" -m infermeter "${L[@]}" --dataset "$S/trace_gsm8k.jsonl" > "$OUT/trace.json" 2> "$OUT/trace.err"
"$PY" - "$OUT/trace.json" <<'PY' | tee "$OUT/trace_lag.txt"
import json, sys
from pathlib import Path
import numpy as np
rep = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in (Path(rep["run_dir"]) / "records.jsonl").read_text().splitlines()]
recs.sort(key=lambda r: r["extra"]["k"])
t0 = recs[0]["t_send"] - recs[0]["extra"]["scheduled_s"]
lag = np.array([(r["t_send"] - t0 - r["extra"]["scheduled_s"]) * 1000 for r in recs])
print(f"trace replay, {len(recs)} requests: send lag vs trace p50 {np.median(lag):.2f} ms, p99 "
      f"{np.percentile(lag, 99):.2f} ms, max {lag.max():.2f} ms, within 5 ms: {(lag <= 5).mean():.0%}")
PY
summary+=("$(tail -1 "$OUT/trace_lag.txt")")
for args in "--dataset-name sharegpt --num-prompts 32 --request-rate 50 --export vllm" \
            "--dataset-name random --lengths prompt_tokens=64-256,output_tokens=32 --num-prompts 32 --request-rate inf --max-concurrency 8" \
            "--dataset-name multi-turn --limit 8 --profile concurrent:4 --max-requests 24" \
            "--dataset-name sonnet --prompt-len 400 --prefix-len 200 --num-prompts 16 --burstiness 0.5 --request-rate 40"; do
  # shellcheck disable=SC2086
  line=$("$PY" -m infermeter "${L[@]}" $args 2>>"$OUT/datasets.err" | "$PY" -c "import json,sys; d=json.load(sys.stdin); \
p=d['load_run']['points'][0]; print(f\"{d['config']['workload']['kind']}: {p['profile']} ok {p['requests']['ok']}/{p['requests']['sent']}, \
TTFT p50 {p['ttft_s']['median']*1e3:.1f} ms p95 {p['ttft_s']['p95']*1e3:.1f} ms\")" 2>&1)
  echo "$line" | tee -a "$OUT/datasets.txt"; summary+=("$line")
done
kill "$NULL_PID" 2>/dev/null

# 3. vLLM on the GPU: infermeter and `vllm bench serve` on the same ShareGPT sample, one table.
if [ "$DEVICE" = cuda ] && "$PY" -c "import vllm" 2>/dev/null; then
  FOLDER=$("$PY" -m infermeter.models.export "$MODEL" 2>>"$OUT/vllm.err" | tail -1)
  PORT=8123
  timeout 420 "$PY" -m vllm.entrypoints.openai.api_server --model "$FOLDER" --served-model-name "$MODEL" \
    --port $PORT --max-model-len 2048 --gpu-memory-utilization 0.5 > "$OUT/vllm_server.log" 2>&1 &
  VLLM_PID=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/v1/models" > /dev/null && break; sleep 1; done
  URL=http://127.0.0.1:$PORT
  "$PY" -m infermeter load --base-url "$URL" --output "$OUT/vllm" --quiet --json --tokenizer "$FOLDER" \
    --dataset "$S/sharegpt_gsm8k.json" --num-prompts 64 --request-rate 16 --export "vllm=$OUT/infermeter_as_vllm.json" \
    > "$OUT/infermeter_vllm.json" 2>> "$OUT/vllm.err"
  timeout 240 vllm bench serve --backend openai-chat --endpoint /v1/chat/completions --base-url "$URL" \
    --model "$MODEL" --tokenizer "$FOLDER" --dataset-name sharegpt --dataset-path "$S/sharegpt_gsm8k.json" \
    --num-prompts 64 --request-rate 16 --temperature 0 --save-result --result-dir "$OUT" \
    --result-filename vllm_bench.json > "$OUT/vllm_bench.txt" 2>&1
  RUN=$("$PY" -c "import json; print(json.load(open('$OUT/infermeter_vllm.json'))['run_dir'])" 2>/dev/null)
  "$PY" -m infermeter report "$OUT/vllm_bench.json" "$RUN" --table - --labels "vllm bench serve,infermeter" \
    2>&1 | tee "$OUT/side_by_side.md"
  kill "$VLLM_PID" 2>/dev/null
else
  echo "vLLM part skipped (DEVICE=$DEVICE, or vllm not importable)" | tee "$OUT/side_by_side.md"
fi

echo
echo "== summary ($OUT)"
tail -2 "$OUT/startup.txt"
printf '%s\n' "${summary[@]}"
grep -E "^\| (metric|TTFT mean|TTFT p99|TPOT mean|output throughput|request rate)" "$OUT/side_by_side.md" || true
