"""``infermeter run``: measure one configuration (the six metrics) in a fresh worker."""

from __future__ import annotations

import argparse
from typing import Any

from infermeter.api import run
from infermeter.cli.explain import config_keys_epilog
from infermeter.cli.flags import IN_PROCESS, add_config_flags, config_from_args, emit, progress_on
from infermeter.executors.local import devices_config
from infermeter.render.console import render

_EPILOG = """examples:
  infermeter run                                         # embedded SmolLM2-135M, 8 GSM8K questions
  infermeter run --model qwen3-1.7b --device cuda --workload synthetic --prompt-len 128 \\
                 --max-new-tokens 128 --batch-size 64 --kv-cache static
  infermeter run --dataset my.jsonl --model ./my-hf-folder --batch-size 4
  infermeter run --config run.yaml --set top_p=0.9 --set measure.max_repeats=20
  infermeter run --model qwen3-1.7b --device cuda --workload synthetic --processes 3   # CIs over processes

"""


def add_parsers(sub: Any) -> dict[str, Any]:
    """Register ``run``; returns its handler."""
    p = sub.add_parser(
        "run",
        help="measure one configuration: the six metrics",
        description="Measure one configuration in a fresh worker process: output speed, TTFT, context "
        "load time, peak memory, batch efficiency and accuracy. With no arguments: the embedded "
        "SmolLM2-135M on 8 GSM8K questions.",
        epilog=_EPILOG + config_keys_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    groups = add_config_flags(p, IN_PROCESS)
    groups["measurement"].add_argument(
        "--inline", action="store_true", help="measure in this process (debugging; less trustworthy)"
    )
    groups["measurement"].add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="measure N times, each in a fresh worker process; adds per-metric CIs over processes (n = N) beside "
        "the within-process ones, and CIs for load time, first call and peak memory",
    )
    groups["model"].add_argument(
        "--devices",
        metavar="LIST",
        help="one model over several GPUs, e.g. cuda:0,cuda:1 (layers balanced over them; placement verified "
        "and peak memory reported per GPU)",
    )
    return {"run": _cmd_run}


def _cmd_run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.devices:  # a model over several GPUs: the same as --device cuda:0,cuda:1
        cfg = devices_config(cfg, args.devices, args.device)
    emit(args, run(cfg, progress=progress_on(args), processes=args.processes), render)
    return 0
