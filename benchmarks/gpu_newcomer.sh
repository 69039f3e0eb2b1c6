#!/usr/bin/env bash
# A newcomer's first hour on a GPU: the library API from a script (run + compare, results in a temp
# folder, no database), every console view at 80 and 200 columns, and the compare ratios read as
# variant / baseline. Prints a short summary table last. About 4 minutes on one H200.
# Usage from the repo root: bash benchmarks/gpu_newcomer.sh OUTDIR
# On a CPU: DEVICE=cpu MODEL=tiny-qwen3 bash benchmarks/gpu_newcomer.sh /tmp/x   (~2 minutes idle)
set -uo pipefail
OUT=${1:-/tmp/gpu-newcomer}; mkdir -p "$OUT"
DEVICE=${DEVICE:-cuda}; MODEL=${MODEL:-qwen3-1.7b}
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 INFERMETER_CACHE=${INFERMETER_CACHE:-/tmp/imcache}
export HOME_FOR_CHECK=$OUT/home; mkdir -p "$HOME_FOR_CHECK"
cat > "$OUT/newcomer.py" <<'PY'
"""What the README's Python section promises, on a real model: typed-enough results, no files left."""
import io, json, os, sys
from pathlib import Path

import infermeter
from rich.console import Console


def views(report, render, name, out):
    """The console view at 80 and 200 columns: (widest line, lines) per width, written to files."""
    res = {}
    for width in (80, 200):
        buf = io.StringIO()
        render(report.data, Console(file=buf, width=width, color_system=None))
        text = buf.getvalue()
        (out / f"{name}_{width}.txt").write_text(text)
        res[width] = max(len(line) for line in text.splitlines())
    return res


if __name__ == "__main__":  # workers are spawned and re-import this file
    out, device, model = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    gpu = device != "cpu"
    base = {"model": {"name": model, "device": device},
            "workload": {"kind": "synthetic", "prompt_len": 128 if gpu else 16, "batch_size": 8 if gpu else 2,
                         "limit": 32 if gpu else 2},
            "generation": {"max_new_tokens": 128 if gpu else 8},
            "measure": {"prompt_lens": [128, 2048] if gpu else [], "batch_sizes": [1, 8, 64] if gpu else [1, 2]}}
    from infermeter.render.console import render
    from infermeter.render.console_compare import render_compare

    run = infermeter.run(base, progress=False)
    widths = {"run": views(run, render, "run", out)}
    variants = {k: {**base, "model": {**base["model"], "attn_implementation": k}, "measure": {"prompt_lens": [],
                "batch_sizes": []}} for k in ("sdpa", "eager")}
    ab = infermeter.compare(variants, rounds=4 if gpu else 2, max_rounds=4 if gpu else 2, calls=3, progress=False)
    widths["compare"] = views(ab, render_compare, "compare", out)
    from infermeter.render.ab_view import variant_over_baseline

    summary = {
        "decode_tps": run.metrics["decode_tps"]["mean"],
        "ttft_ms": 1000 * run.metrics["ttft_s"]["mean"],
        "output_throughput": run.metrics["output_throughput"],
        "ratios": {r["metric"]: variant_over_baseline(r) for r in ab.data["compare"]["ratios"]},
        "eager_e2e_ms": 1000 * ab.metrics["eager"]["e2e_s"]["mean"],
        "sdpa_e2e_ms": 1000 * ab.metrics["sdpa"]["e2e_s"]["mean"],
        "widths": widths,
        "results_in_temp": str(run.path).startswith(os.environ.get("TMPDIR", "/tmp")),
        "cwd_results": Path("results").exists(),
        "db_written": (Path(os.environ["HOME"]) / ".infermeter").exists(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
PY
(cd "$OUT" && HOME=$HOME_FOR_CHECK timeout 420 python3 newcomer.py "$OUT" "$DEVICE" "$MODEL") > "$OUT/newcomer.log" 2>&1 \
  || { echo "newcomer.py failed:"; tail -20 "$OUT/newcomer.log"; }
cat "$OUT/run_80.txt" 2>/dev/null
python3 - "$OUT" "$MODEL" "$DEVICE" <<'PY'
import json, sys
out, model, device = sys.argv[1:]
s = json.load(open(f"{out}/summary.json"))
print(f"\nnewcomer check: {model} on {device}")
print(f"{'what':34s} value")
print(f"{'decode TPS (run)':34s} {s['decode_tps']:.1f} tok/s")
print(f"{'TTFT mean (run)':34s} {s['ttft_ms']:.1f} ms")
print(f"{'output throughput (run)':34s} {s['output_throughput']:.1f} tok/s")
print(f"{'E2E sdpa / eager (compare)':34s} {s['sdpa_e2e_ms']:.1f} / {s['eager_e2e_ms']:.1f} ms")
for m, (r, lo, hi) in s["ratios"].items():
    print(f"{'eager / sdpa on ' + m:34s} {r:.3f} [{lo:.3f}, {hi:.3f}]")
for view, w in s["widths"].items():
    print(f"{'widest line of ' + view + ' at 80 / 200':34s} {w['80']} / {w['200']}  ({'ok' if w['80'] <= 80 and w['200'] <= 200 else 'TOO WIDE'})")
print(f"{'./results or results DB written':34s} {s['cwd_results'] or s['db_written']}  (expected False)")
PY
