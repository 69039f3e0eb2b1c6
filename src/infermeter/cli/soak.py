"""``infermeter soak``: repeated calls per cleanup strategy; latency and memory trends with verdicts."""

from __future__ import annotations

import argparse
from typing import Any

from infermeter.api import soak
from infermeter.cli.executor import add_executor_flags, executor_from_args
from infermeter.cli.flags import IN_PROCESS, add_config_flags, config_from_args, emit, ints, progress_on
from infermeter.cli.options import flag_values
from infermeter.errors import InfermeterError
from infermeter.render.console_soak import render_soak
from infermeter.scenarios.soak import SoakOptions, parse_duration

_SOAK_EPILOG = """examples:
  infermeter soak --model qwen3-1.7b --device cuda --calls 10 --at 1,5,10
  infermeter soak --duration 10m --strategies none,full --inputs fixed
  infermeter soak --strategies session --batch-sizes 1,2,4,8 --dataset questions.jsonl
strategies: none | gc | gc+empty_cache | full (optimize.cleanup after every call) |
  recreate (new model instance every --recreate-every calls) | session (each call inside inference_session)
"""


def add_parsers(sub: Any) -> dict[str, Any]:
    """Register ``soak``; returns its handler."""
    p = sub.add_parser(
        "soak",
        help="repeat calls: detect latency/memory decay and compare cleanup strategies",
        description="Repeat calls per cleanup strategy (and batch size), each configuration in a fresh "
        "process; record E2E, TTFT, TPOT and memory per call; test each series for a trend (Theil-Sen "
        "slope with CI, Mann-Kendall) and for steps. Prints latency at chosen calls and peak memory per "
        "strategy, with a verdict per metric.",
        epilog=_SOAK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_flags(p, IN_PROCESS, skip=("--warmup", "--repeats", "--prompt-lens", "--batch-sizes"))
    p.add_argument("--calls", type=int, help="calls per configuration (default 20)")
    p.add_argument("--duration", help="run each configuration this long instead of --calls, e.g. 60s, 5m")
    p.add_argument(
        "--strategies",
        default="none,gc,gc+empty_cache,full,recreate,session",
        help="comma-separated, see below (default: all six)",
    )
    p.add_argument(
        "--batch-sizes", dest="chunk_sizes", type=ints, metavar="B,...", help="chunking: every strategy at each size"
    )
    p.add_argument(
        "--at",
        type=ints,
        default=[1, 5, 10],
        metavar="N,...",
        help="calls whose latency the table shows (default 1,5,10)",
    )
    p.add_argument("--inputs", default="varied", help="fixed (same prompt) | varied (new content, same shape)")
    p.add_argument("--warmup-calls", type=int, default=2, help="first calls shown but left out of trends (default 2)")
    p.add_argument("--recreate-every", type=int, default=5, help="recreate strategy: calls per instance (default 5)")
    p.add_argument(
        "--min-step", type=float, default=0.05, help="smallest upward step that is decay (default 0.05 = 5%%)"
    )
    p.add_argument(
        "--min-slope",
        type=float,
        default=0.001,
        dest="min_relative_slope",
        metavar="SHARE",
        help="smallest drift per call, as a share of the level, that is a trend (default 0.001 = 0.1%% a call)",
    )
    p.add_argument("--leak", action="store_true", help="calibration: keep every output and KV cache (a known leak)")
    p.add_argument("--inline", action="store_true", help="run in this process (debugging; less trustworthy)")
    add_executor_flags(p)  # over several GPUs / a Ray cluster
    return {"soak": _cmd_soak}


def _cmd_soak(args: argparse.Namespace) -> int:
    # A soak repeats one kind of call: by default a synthetic batch of 1 with a forced length.
    base = {"workload": {"kind": "synthetic", "batch_size": 1}, "generation": {"max_new_tokens": 64}}
    cfg = config_from_args(args, base)
    if args.calls is not None and args.duration:
        raise InfermeterError("use --calls or --duration, not both")
    opts = SoakOptions(
        calls=20 if args.calls is None else args.calls,
        duration_s=parse_duration(args.duration) if args.duration else None,
        strategies=tuple(s.strip() for s in args.strategies.split(",") if s.strip()),
        batch_sizes=tuple(args.chunk_sizes or ()),
        at=tuple(args.at),
        **flag_values(args, "inputs", "warmup_calls", "recreate_every", "min_step", "min_relative_slope", "leak"),
    )
    emit(args, soak(cfg, opts, progress=progress_on(args), executor=executor_from_args(args)), render_soak)
    return 0
