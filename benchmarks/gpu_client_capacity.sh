#!/usr/bin/env bash
# The load client's capacity with --client-procs 1, 2 and 4 on the GPU host's 16 CPU cores (the GPU
# itself is not used: the 2-core CPU machine cannot show what several client processes buy), plus an
# SLO search and the server-metrics scrape against serve-null, end to end.
# Usage, from the repo root: [REF=<commit>] bash benchmarks/gpu_client_capacity.sh OUTDIR
#   (on CPU: [PYTHON=.venv/bin/python] DEVICE=cpu MODEL=tiny-qwen3 bash benchmarks/gpu_client_capacity.sh /tmp/x : smaller, < 3 min)
set -uo pipefail
OUT=${1:-/tmp/gpu-client-capacity}; mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
# `vllm bench serve` beside infermeter: from .venv-vllm, else from $PY when vLLM imports there; not on
# CPU (its start-up alone takes minutes on a 2-core machine).
VLLM=(); [ ! -x .venv-vllm/bin/python ] && "$PY" -c "import vllm.benchmarks.serve" 2>/dev/null && VLLM=(--vllm-python "$(command -v "$PY")")
if [ "${DEVICE:-cuda}" = cpu ]; then SIZE=(--tokens 200 --requests 4 --rate-requests 200 --procs 1,2); SEARCH=30; VLLM=(--vllm-python none)
else SIZE=(--tokens 10000 --requests 20 --rate-requests 3000 --procs 1,2,4); SEARCH=200; fi
# REF=<commit>: infermeter at that commit too, in the same run (before/after as ratios).
timeout 420 "$PY" benchmarks/client_capacity.py --no-guidellm "${SIZE[@]}" "${VLLM[@]}" ${REF:+--ref "$REF"} \
  > "$OUT/capacity.txt" 2> "$OUT/capacity.err" || echo "client_capacity failed: $(tail -3 "$OUT/capacity.err")"
# SLO search against a server whose TTFT grows with load is not what serve-null is; the null server
# answers at a fixed pace, so the search here checks the machinery (points, intervals, metrics).
"$PY" -m infermeter serve-null --port 0 --tokens 32 --pace-ms 5 2> "$OUT/null.log" & NULL=$!
for _ in $(seq 50); do grep -q "listening on" "$OUT/null.log" && break; sleep 0.2; done
URL=$(sed -n 's/.*listening on //p' "$OUT/null.log" | head -1)
timeout 240 "$PY" -m infermeter load --base-url "$URL" --profile slo-search --slo e2e=400ms --max-requests $SEARCH \
  --search-points 5 --max-concurrency 256 --set tokenizer=qwen --prompt-len 16 --max-new-tokens 32 --json --quiet \
  --output "$OUT/results" --db off > "$OUT/search.json" 2> "$OUT/search.err" || echo "slo-search failed: $(tail -3 "$OUT/search.err")"
kill "$NULL" 2>/dev/null; wait "$NULL" 2>/dev/null
"$PY" - "$OUT" <<'PY' 2>&1 | tee "$OUT/summary.txt"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
print("== client capacity (null server, pace 0) ==")
print((out / "capacity.txt").read_text() if (out / "capacity.txt").is_file() else "(missing)")
try:
    lr = json.loads((out / "search.json").read_text())["load_run"]
except (OSError, ValueError, KeyError) as err:
    sys.exit(f"slo-search report missing: {err}")
s, sm = lr["slo_search"], lr["server_metrics"]
print("== slo-search (e2e <= 400 ms, serve-null 32 tokens x 5 ms) ==")
print(f"{'point':<16} {'rate':>8} {'completed':>10} {'met SLO':>8} {'95% CI':>15} {'srv running max':>16}")
for v, p in zip(s["points"], sm.get("points") or [{}] * len(s["points"])):
    ci = v["attainment_ci95"] or [0, 0]
    run = (p.get("running") or {}).get("max")
    print(f"{v['profile']:<16} {v['rate'] or 0:>8.1f} {v['completed_rate'] or 0:>10.1f} {v['attainment'] or 0:>8.1%} "
          f"{ci[0]:>7.1%}-{ci[1]:<7.1%} {'-' if run is None else run:>16}")
print(f"best rate meeting the SLO: {s['best_rate']}  note: {s['note']}  server metrics: {sm['available']} "
      f"({sm.get('samples', 0)} samples)")
PY
