#!/usr/bin/env bash
# HF vs llama.cpp vs vLLM on CPU: the same seeded workload in-process (HF) and over HTTP (llama.cpp, vLLM) in one
# table, prefix caching on vs off (vLLM), and static batching (HF) vs continuous batching (vLLM).
# Needs `make servers` (.venv with llama-cpp-python[server], .venv-vllm). Writes benchmarks/results/.
# Usage: bash benchmarks/servers_cpu.sh [OUTDIR]   (about 10 minutes on 2 cores)
#        PARTS="many prefix" bash benchmarks/servers_cpu.sh   (some of: same many prefix)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-benchmarks/results/servers-cpu}
mkdir -p "$OUT"
PARTS=${PARTS:-same many prefix}
want() { [[ " $PARTS " == *" $1 "* ]]; }
export INFERMETER_DB="$OUT/results.db"
IM=(.venv/bin/python -m infermeter)
# Eager mode by default: vLLM's torch.compile warm-up takes minutes per start on 2 cores. VLLM_FLAGS="" compiles.
read -r -a VFLAGS <<<"${VLLM_FLAGS---enforce-eager}"
GGUF=$(.venv/bin/python -c "from infermeter.models.resolve import embedded_gguf; print(embedded_gguf())")
FOLDER=$(.venv/bin/python -m infermeter.models.export smollm2-135m)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_up() {  # URL LOG
  for _ in $(seq 1 600); do
    curl -sf "$1/v1/models" >/dev/null && return 0
    sleep 1
  done
  tail -30 "$2"; echo "server at $1 did not start" >&2; exit 1
}
start_llama() {  # PORT   (under listening.py, which keeps llama.cpp off its AMX kernels where they crash)
  .venv/bin/python tests/integration/listening.py llama_cpp.server --model "$GGUF" --host 127.0.0.1 --port "$1" --n_ctx 4096 \
    --n_threads 2 --interrupt_requests False >"$OUT/llama-$1.log" 2>&1 &
  PIDS+=($!); wait_up "http://127.0.0.1:$1" "$OUT/llama-$1.log"
}
start_vllm() {  # PORT EXTRA-FLAGS...
  local port=$1; shift
  VLLM_CPU_KVCACHE_SPACE=2 .venv-vllm/bin/python -m vllm.entrypoints.openai.api_server --model "$FOLDER" \
    --served-model-name smollm2-135m --dtype bfloat16 --max-model-len 2048 --host 127.0.0.1 --port "$port" \
    "${VFLAGS[@]}" "$@" >"$OUT/vllm-$port.log" 2>&1 &
  PIDS+=($!); wait_up "http://127.0.0.1:$port" "$OUT/vllm-$port.log"
}
stop_last() { kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'; }
run_dir() { .venv/bin/python -c "import json,sys; print(json.load(sys.stdin)['run_dir'])"; }

# 1. One seeded workload, three ways: 16 GSM8K questions, 64 new tokens, 4 at a time.
if want same; then
WL=(--limit 16 --max-new-tokens 64 --batch-size 4 --seed 7 --prompt-lens 128,512 --batch-sizes 1,4 --quiet --json)
HF=$("${IM[@]}" run "${WL[@]}" --output "$OUT/runs" | run_dir)
start_llama 18501
LL=$("${IM[@]}" run "${WL[@]}" --output "$OUT/runs" --set backend=openai --set server.base_url=http://127.0.0.1:18501 | run_dir)
stop_last
start_vllm 18502
VL=$("${IM[@]}" run "${WL[@]}" --output "$OUT/runs" --set backend=openai --set server.base_url=http://127.0.0.1:18502 | run_dir)
"${IM[@]}" report "$HF" "$LL" "$VL" --labels "HF in-process,llama.cpp server,vLLM server" --table "$OUT/same-workload.md"
stop_last
fi

# 2. Many concurrent requests of very different lengths: HF static batches of 16 vs vLLM continuous batching.
if want many; then
MANY=(--workload many-requests --limit 32 --max-new-tokens 192 --seed 7 --quiet --json)
HFB=$("${IM[@]}" run "${MANY[@]}" --batch-size 16 --prompt-lens '' --batch-sizes '' --output "$OUT/runs" | run_dir)
start_vllm 18502
VLB=$("${IM[@]}" load "${MANY[@]}" --base-url http://127.0.0.1:18502 --profile concurrent:16 --max-requests 32 \
  --output "$OUT/runs" | run_dir)
"${IM[@]}" report "$HFB" "$VLB" --labels "HF static batching,vLLM continuous batching" --table "$OUT/many-requests.md"
stop_last
fi

# 3. A shared ~1,000-token system prompt: vLLM with prefix caching on, then off (same requests).
if want prefix; then
SHARED=(--workload shared-prefix --prompt-len 1000 --limit 24 --max-requests 24 --max-new-tokens 32 --seed 7 --quiet --json)
start_vllm 18503
ON=$("${IM[@]}" load "${SHARED[@]}" --base-url http://127.0.0.1:18503 --profile concurrent:4 --output "$OUT/runs" | run_dir)
stop_last
start_vllm 18504 --no-enable-prefix-caching
OFF=$("${IM[@]}" load "${SHARED[@]}" --base-url http://127.0.0.1:18504 --profile concurrent:4 --output "$OUT/runs" | run_dir)
stop_last
"${IM[@]}" report "$ON" "$OFF" --labels "prefix caching on,prefix caching off" --table "$OUT/prefix-caching.md"
fi
cat "$OUT"/*.md
