"""``infermeter compare``: A/B with fresh processes per variant and round, interleaved, with CIs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from infermeter.api import compare
from infermeter.cli.executor import add_executor_flags, executor_from_args
from infermeter.cli.flags import IN_PROCESS, add_config_flags, deep_merge, emit, overrides, progress_on, split_pairs
from infermeter.cli.options import flag_values
from infermeter.config import apply_overrides, load_yaml
from infermeter.errors import InfermeterError
from infermeter.render.console_compare import render_compare
from infermeter.scenarios.compare import CompareOptions

_COMPARE_EPILOG = """examples:
  infermeter compare eager.yaml compiled.yaml
  infermeter compare --model qwen3-1.7b --device cuda --variant eager:compile=off \\
                     --variant compiled:compile=on,cache=static
  infermeter compare --model tiny-qwen3 --variant sdpa:attn_implementation=sdpa \\
                     --variant eager:attn_implementation=eager --isolation inline --cleanup gc
  infermeter compare a.yaml b.yaml --warmup-compare
"""


# CompareOptions fields taken as parsed from the flags of the same names
_OPTION_FLAGS: tuple[str, ...] = ("rounds", "target_ci", "budget_s", "calls", "warmup", "isolation", "cleanup")
_OPTION_FLAGS += ("retain_previous", "warmup_compare")


def add_parsers(sub: Any) -> dict[str, Any]:
    """Register ``compare``; returns its handler."""
    p = sub.add_parser(
        "compare",
        help="A/B comparison with CIs, run-order diagnosis and warm-up strategies",
        description="Compare two or more variants. Each variant runs in its own fresh process per round; "
        "rounds are interleaved (ABBA...) in a seeded random order until the CI of each headline ratio "
        "is narrow. Prints per-variant statistics and a verdict with a 95% CI.",
        epilog=_COMPARE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("variant_configs", nargs="*", metavar="CONFIG", help="YAML configs, one per variant")
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=V,...",
        help="a variant = the base config (--config and flags) plus these overrides",
    )
    groups = add_config_flags(p, IN_PROCESS, skip=("--warmup", "--repeats", "--prompt-lens", "--batch-sizes"))
    p.add_argument(
        "--metric",
        default="decode_tps,e2e_s",
        help="headline metrics: decode_tps, e2e_s, ttft_s, output_throughput (default decode_tps,e2e_s)",
    )
    p.add_argument("--rounds", type=int, default=4, help="minimum rounds (default 4)")
    p.add_argument("--max-rounds", type=int, default=12, help="rounds at most (default 12)")
    p.add_argument(
        "--target-ci",
        type=float,
        default=0.02,
        help="stop when every ratio's 95%% CI half-width is below this fraction (default 0.02)",
    )
    p.add_argument("--budget-s", type=float, default=900, help="time budget for extra rounds (default 900 s)")
    p.add_argument("--calls", type=int, default=5, help="measured calls per worker; the first is reported apart")
    p.add_argument(
        "--warmup",
        default="same-input",
        help="none | same-input | different-input | shadow-instance (default same-input)",
    )
    p.add_argument("--isolation", default="process", help="process (default) | inline: run-order diagnosis")
    p.add_argument("--cleanup", default="full", help="inline mode, between variants: none | gc | gc+empty_cache | full")
    p.add_argument(
        "--retain-previous",
        action="store_true",
        help="inline mode: keep a reference to the previous model (reproduces a broken cleanup)",
    )
    p.add_argument(
        "--warmup-compare", action="store_true", help="also measure every warm-up strategy (a table of them)"
    )
    del groups
    add_executor_flags(p)  # over several GPUs / a Ray cluster
    return {"compare": _cmd_compare}


def _cmd_compare(args: argparse.Namespace) -> int:
    # A compare is a speed A/B: by default one synthetic batch of 1 with a forced length.
    base: dict[str, Any] = {"workload": {"kind": "synthetic", "batch_size": 1}, "generation": {"max_new_tokens": 64}}
    if args.config:
        base = deep_merge(base, load_yaml(args.config))
    base = apply_overrides(base, overrides(args))
    variants: list[tuple[str, Any]] = []
    for path in args.variant_configs:
        variants.append((Path(path).stem, apply_overrides(deep_merge(base, load_yaml(path)), overrides(args))))
    for spec in args.variant:
        name, sep, pairs = spec.partition(":")
        if not name.strip():
            raise InfermeterError(f"--variant needs a name: NAME:KEY=VALUE,..., got {spec!r}")
        variants.append((name.strip(), apply_overrides(base, split_pairs(pairs) if sep and pairs else {})))
    opts = CompareOptions(
        **flag_values(args, *_OPTION_FLAGS),
        metrics=tuple(m.strip() for m in args.metric.split(",") if m.strip()),
        max_rounds=max(args.max_rounds, args.rounds),
        seed=int(base.get("seed", 0)),
    )
    report = compare(variants, opts, progress=progress_on(args), executor=executor_from_args(args))
    emit(args, report, render_compare)
    return 0
