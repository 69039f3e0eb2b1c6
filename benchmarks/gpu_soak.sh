#!/usr/bin/env bash
# `infermeter soak` on a GPU, one call: the calibration leak (qwen3-1.7b keeps every call's output
# with its KV cache: torch allocated must grow by exactly the KV size per call) and the cleanup table
# (latency at calls 1/5/10, peak memory, stable yes/no) for every cleanup strategy.
# Usage on the GPU machine, from the repo root: bash benchmarks/gpu_soak.sh OUTDIR
set -uo pipefail
OUT=${1:-/tmp/gpu-soak}; mkdir -p "$OUT"
export PYTHONPATH=$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 INFERMETER_CACHE=/tmp/imcache
PROMPT=128 NEW=64
common=(--model qwen3-1.7b --device cuda --prompt-len $PROMPT --max-new-tokens $NEW --quiet --json
        --output /tmp/gpu-soak-results)
soak() { local name=$1 limit=$2; shift 2; timeout "$limit" python3 -m infermeter soak "${common[@]}" "$@" \
           > "$OUT/$name.json" 2> "$OUT/$name.err" || echo "soak $name failed: $(tail -1 "$OUT/$name.err")"; }
# Each qwen3-1.7b worker costs ~25-35 s (imports, random init); recreate loads the model again.
# ONLY=leak or ONLY=strategies runs one half (each fits one 10-minute device call).
[ "${ONLY:-leak}" = strategies ] || soak leak 480 --leak --strategies "${LEAK_STRATEGIES:-none,gc,gc+empty_cache,full,recreate,session}" \
  --calls 12 --recreate-every 5
[ "${ONLY:-strategies}" = leak ] || soak strategies 360 --calls 10 --recreate-every 5
python3 - "$OUT" $PROMPT $NEW <<'EOF' 2>&1 | tee "$OUT/summary.txt"
import json, sys
from pathlib import Path
from rich.console import Console
from infermeter.models.presets import get_preset
from infermeter.render.console_soak import render_soak

out, prompt, new = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
c = get_preset("qwen3-1.7b").config
kv = 2 * c["num_hidden_layers"] * c["num_key_value_heads"] * c["head_dim"] * (prompt + new - 1) * 2  # bf16
console = Console(width=150)
for name in ("leak", "strategies"):
    path = out / f"{name}.json"
    if not path.is_file() or not path.read_text().strip():
        continue
    data = json.loads(path.read_text())
    render_soak(data, console)
    if name == "leak":
        conf = data["soak"]["configurations"][0]
        for key in ("torch_allocated", "torch_reserved", "nvml_process", "rss"):
            s = conf["series"].get(key)
            if s:
                slope = s["trend"]["slope"]
                print(f"leak {key}: slope {slope / 2**20:.3f} MiB/call vs KV {kv / 2**20:.3f} MiB/call "
                      f"({slope / kv - 1:+.2%}), verdict {s['verdict']}")
        print(f"retained KV per call (measured in the worker): {conf['retained_kv_bytes_per_call']} B, formula {kv} B")
EOF
