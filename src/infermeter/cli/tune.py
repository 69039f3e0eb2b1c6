"""``infermeter tune``: measure which optimizations really help, verify the best, write its config."""

from __future__ import annotations

import argparse
import re
from typing import Any

from infermeter.api.tune import tune, write_config
from infermeter.cli.flags import IN_PROCESS, add_config_flags, config_from_args, emit
from infermeter.cli.options import flag_values
from infermeter.errors import InfermeterError
from infermeter.render.console_tune import render_tune, tune_html
from infermeter.scenarios.tune import TuneOptions

_EPILOG = """examples:
  infermeter tune --model qwen3-1.7b --device cuda --workload synthetic --batch-size 1 --budget 10m \\
                  --write-config best.yaml
  infermeter tune --model tiny-qwen3 --workload synthetic --budget 2m --candidates eager,static,batch
  infermeter tune ... --slo ttft_s<0.2            # which variants meet a latency target
  infermeter tune --resume results/20261130-120000-tune-qwen3-1.7b-ab12
  infermeter run --config best.yaml               # the written config runs as it is

The ladder is one interleaved comparison of the baseline against every candidate (attention
implementation, dtype, static KV cache, static cache + torch.compile, a larger batch up to the memory
limit; for vLLM prefix caching, chunked prefill, max_num_seqs): each variant in a fresh process per
round, rounds in a seeded balanced order, stopped when every ratio's 95% CI is narrow or the ladder's
share of --budget is spent. The significant gains are combined and verified against the baseline once more.
"""


def parse_duration(text: str) -> float:
    """'30m', '90s', '1h', '120' (seconds) -> seconds; one clear line otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not m:
        raise InfermeterError(f"--budget must be a duration like 30m, 90s or 1h, got {text!r}")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def _cmd_tune(args: argparse.Namespace) -> int:
    from pathlib import Path

    opts = TuneOptions(
        **flag_values(args, "metric", "slo", "rounds", "max_rounds", "target_ci"),
        budget_s=parse_duration(args.budget),
        candidates=tuple(c.strip() for c in (args.candidates or "").split(",") if c.strip()),
        verify=not args.no_verify,
    )
    if opts.metric not in ("decode_tps", "e2e_s", "ttft_s", "output_throughput"):
        raise InfermeterError(f"--metric must be decode_tps, e2e_s, ttft_s or output_throughput, got {opts.metric!r}")
    cfg = None if args.resume else config_from_args(args, {"workload": {"kind": "synthetic", "limit": 4}})
    report = tune(cfg, opts, resume=args.resume)
    run_dir = Path(report.data["run_dir"])
    (run_dir / "tune.html").write_text(tune_html(report.data), encoding="utf-8")
    if args.write_config:
        path = write_config(report.data["tune"]["best_config"], args.write_config)
        report.data["tune"]["config_written"] = str(path)
    emit(args, report, render_tune)
    if args.write_config and not args.json:
        print(f"best config written to {args.write_config} (infermeter run --config {args.write_config})")
    return 0


def add_parsers(sub: Any) -> dict[str, Any]:
    """Register ``tune``; return its handler."""

    p = sub.add_parser(
        "tune",
        help="find which optimizations really help (interleaved comparisons with CIs) and write the best config",
        description="Run a ladder of candidate optimizations against the baseline, rank them by the ratio "
        "and its 95%% CI, verify the best combination, report its share of the roofline, and write it "
        "as a config file that `run` and `compare` accept.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_flags(p, IN_PROCESS, skip=("--warmup", "--repeats", "--prompt-lens", "--batch-sizes"))
    p.add_argument("--budget", default="30m", help="wall-clock bound: 30m, 90s, 1h (default 30m)")
    p.add_argument("--slo", help="a target: ttft_s<0.2, e2e_s<2, decode_tps>100, output_throughput>500")
    p.add_argument(
        "--metric", default="decode_tps", help="ranked by: decode_tps (default), e2e_s, ttft_s, output_throughput"
    )
    p.add_argument("--candidates", help="only these (comma-separated name parts, e.g. eager,static,batch)")
    p.add_argument("--write-config", metavar="FILE", help="write the best configuration as YAML")
    p.add_argument("--resume", metavar="DIR", help="continue the tune in DIR")
    p.add_argument("--rounds", type=int, default=2, help="minimum interleaved rounds (default 2)")
    p.add_argument("--max-rounds", type=int, default=6, help="most rounds when CIs are still wide (default 6)")
    p.add_argument("--target-ci", type=float, default=0.05, help="stop when every ratio's CI half-width is below this")
    p.add_argument("--no-verify", action="store_true", help="skip the final comparison of the best combination")
    return {"tune": _cmd_tune}
