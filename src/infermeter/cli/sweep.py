"""``infermeter sweep``: a grid over config keys, every point a full ``run`` in its own worker."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from infermeter.api import sweep
from infermeter.cli.executor import EXECUTOR_HELP, add_executor_flags, executor_from_args
from infermeter.cli.flags import IN_PROCESS, add_config_flags, emit, overrides
from infermeter.config import build_config, load_yaml, resolve_key
from infermeter.errors import InfermeterError
from infermeter.render.console_sweep import render_sweep
from infermeter.scenarios.sweep import parse_sets, yaml_knobs
from infermeter.scenarios.sweep_replicates import check_replicates

_EPILOG = """grid:
  --set KEY=V1,V2,...    a knob: the sweep measures each value (any config key, as for `run`)
  --set KEY=V            one value: a fixed override of the base config, like the flags
  --set prompt_lens=[16,32]         a bracketed list stays one value; two: prompt_lens=[16],[16,32]
  a YAML --config may hold a `sweep:` mapping, e.g.  sweep: {num_beams: [1, 2, 4], top_p: [0.8, 1.0]}

Each point is a full `infermeter run` (all six metrics) in its own worker process, with its own run
folder under SWEEP/points/. A knob's baseline is the base config's value when it is listed, else its
first value; the effect tables vary one knob with the others at their baselines. A point whose
value is invalid or whose worker fails (out of memory, a value the model refuses) is recorded with
its reason, and the sweep goes on. Ctrl-C / SIGTERM leave a report that --resume continues; points
already measured (same resolved config) are not measured again.

examples:
  infermeter sweep --limit 8 --do-sample --set num_beams=1,2 --set top_p=0.8,1.0
  infermeter sweep --design one-at-a-time --do-sample --set num_beams=1,2 --set max_new_tokens=64,128 \\
                   --set temperature=1.0,0.5 --set top_k=null,20 --set top_p=1.0,0.8
  infermeter sweep --model qwen3-1.7b --device cuda --workload synthetic \\
                   --set batch_size=1,8,64 --set kv_cache=dynamic,static
  infermeter sweep --resume results/20261121-101500-sweep-smollm2-135m-ab12
  infermeter sweep --replicates 3 --seed 1 --workload synthetic --set batch_size=1,8   # CIs over replicates
  infermeter report results/20261121-101500-sweep-smollm2-135m-ab12 --html sweep.html
  infermeter sweep --model qwen3-1.7b --device cuda --devices 0,1 --set batch_size=1,8,64 --set kv_cache=dynamic,static
  infermeter sweep --executor ray --ray-address auto --model qwen3-8b --set batch_size=1,8,64

"""


def add_parsers(sub: Any) -> dict[str, Any]:
    """Register ``sweep``; returns name -> handler."""
    p = sub.add_parser(
        "sweep",
        help="measure a grid over config knobs: per-knob effects and Pareto fronts",
        description="Measure every point of a grid over config keys (num_beams, max_new_tokens, "
        "temperature, top_k, top_p, batch_size, prompt_len, cache, compile, ...), each point a full "
        "`run` in a fresh worker. Prints every point's metrics, each knob's effect on each metric, and "
        "the Pareto fronts accuracy vs decode speed and peak memory vs throughput.",
        epilog=_EPILOG + EXECUTOR_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_flags(p, IN_PROCESS)
    p.add_argument(
        "--design",
        default=None,
        choices=("full", "one-at-a-time"),
        help="full: every combination (default); one-at-a-time: the baseline point, then one knob varied at a time",
    )
    p.add_argument("--resume", metavar="DIR", help="continue the sweep in DIR (alone: with its own config and knobs)")
    p.add_argument("--retry-failed", action="store_true", help="with --resume: measure failed points again")
    p.add_argument(
        "--replicates",
        type=int,
        default=None,
        metavar="N",
        help="measure each point N times, each in its own process, each replicate in a new random order of the "
        "points (seeded by --seed, recorded); point means get CIs over replicates, effects and Pareto fronts say "
        "what the noise cannot tell apart",
    )
    p.add_argument(
        "--yes-large-sweep",
        action="store_true",
        help="measure a grid of more than 10,000 points (refused otherwise; more than 1,000 warns)",
    )
    add_executor_flags(p)
    p.add_argument(
        "--check-interference",
        action="store_true",
        help="with tasks at once: measure the first point alone first, then alongside the others; report the "
        "difference with a CI",
    )
    return {"sweep": _cmd_sweep}


def _knob_sets(args: argparse.Namespace, data: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Knobs and fixed overrides from the YAML ``sweep:`` section and ``--set``; --set wins per key."""
    from_yaml = parse_sets(yaml_knobs(data.pop("sweep"), args.config)) if "sweep" in data else ([], {})
    knobs, fixed = parse_sets(args.set)
    given = {k.key for k in knobs} | set(fixed)
    knobs = [k for k in from_yaml[0] if k.key not in given] + knobs
    fixed = {**{k: v for k, v in from_yaml[1].items() if k not in given}, **fixed}
    return knobs, fixed


def _cmd_sweep(args: argparse.Namespace) -> int:
    flags = overrides(argparse.Namespace(**{**vars(args), "set": []}))
    data = load_yaml(args.config) if args.config else {}
    knobs, fixed = _knob_sets(args, data)
    for key in flags:
        if any(k.key == resolve_key(key) for k in knobs):
            raise InfermeterError(f"{key} is both a sweep knob (--set) and fixed by a flag: drop one")
    if args.replicates is not None:
        check_replicates(args.replicates)  # before anything is planned or measured
    if args.retry_failed and not args.resume:
        raise InfermeterError("--retry-failed goes with --resume DIR")
    where: list[Path] = []

    def announce(folder: Path, n: int, done: int) -> None:
        where.append(folder)
        if not args.quiet:
            extra = f", {done} already measured" if done else ""
            print(f"infermeter sweep: {n} points{extra} -> {folder}", file=sys.stderr)

    progress = not (args.quiet or args.json)
    executor = executor_from_args(args)
    size = {
        "allow_large": args.yes_large_sweep,
        "warn": lambda line: print(f"infermeter: warning: {line}", file=sys.stderr),
    }
    try:
        if args.resume and not (args.set or args.config or flags):
            report = sweep(resume=args.resume, design=args.design, retry_failed=args.retry_failed,
                           progress=progress, announce=announce, executor=executor,
                           check_interference=args.check_interference, replicates=args.replicates,
                           **size)  # fmt: skip
        else:
            cfg = build_config(data, {**flags, **fixed}, f" ({args.config})" if args.config else "")
            grid = {k.key: k.values for k in knobs}
            report = sweep(cfg, grid, design=args.design, resume=args.resume, retry_failed=args.retry_failed,
                           progress=progress, announce=announce, executor=executor,
                           check_interference=args.check_interference, replicates=args.replicates,
                           **size)  # fmt: skip
    except KeyboardInterrupt:
        if where:
            print(f"infermeter: resume with: infermeter sweep --resume {where[0]}", file=sys.stderr)
        raise
    emit(args, report, render_sweep)
    points = [p for p in report.data["sweep"]["points"] if p.get("planned", True)]
    if points and not any(p["status"] == "complete" for p in points):
        print("infermeter: error: no point of the sweep could be measured (reasons above)", file=sys.stderr)
        return 3
    return 0
