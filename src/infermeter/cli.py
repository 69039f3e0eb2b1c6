"""The ``infermeter`` command line: parse, build a config, call the API, render.

Errors a user can act on print as one line and exit non-zero; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from infermeter import __version__
from infermeter.errors import InfermeterError, WorkerError

# flag -> (config key, type, help). Every flag is also settable as --set KEY=VALUE.
_RUN_FLAGS: list[tuple[str, str, Any, str]] = [
    (
        "--model",
        "model.name",
        str,
        "smollm2-135m (default, embedded), preset, HF folder, .gguf, cached hub id",
    ),
    ("--device", "model.device", str, "auto | cpu | cuda | cuda:N"),
    ("--dtype", "model.dtype", str, "auto | float32 | bfloat16 | float16"),
    ("--attn", "model.attn_implementation", str, "attention implementation: sdpa | eager | ..."),
    ("--cache", "model.cache", str, "KV cache: dynamic | static | off"),
    ("--compile", "model.compile", str, "torch.compile: auto | on | off"),
    ("--workload", "workload.kind", str, "gsm8k (default) | synthetic | jsonl"),
    (
        "--dataset",
        "workload.path",
        str,
        "JSONL file ({'prompt':..., 'answer':...} per line); implies --workload jsonl",
    ),
    ("--limit", "workload.limit", int, "number of items / synthetic prompts (default 8)"),
    ("--prompt-len", "workload.prompt_len", int, "synthetic prompt length in tokens"),
    ("--batch-size", "workload.batch_size", int, "requests per generate() call in the main pass"),
    ("--max-new-tokens", "generation.max_new_tokens", int, "output length cap (the target when forced)"),
    ("--num-beams", "generation.num_beams", int, "beam search width"),
    ("--temperature", "generation.temperature", float, "sampling temperature (with --do-sample)"),
    ("--top-k", "generation.top_k", int, "top-k (with --do-sample)"),
    ("--top-p", "generation.top_p", float, "nucleus mass in (0, 1] (with --do-sample)"),
    (
        "--prompt-lens",
        "measure.prompt_lens",
        "ints",
        "context-load curve lengths, e.g. 128,512,2048 ('' skips)",
    ),
    ("--batch-sizes", "measure.batch_sizes", "ints", "batch-efficiency curve sizes, e.g. 1,2,4,8 ('' skips)"),
    ("--repeats", "measure.repeats", int, "minimum repetitions per speed measurement"),
    ("--warmup", "measure.warmup", str, "none | same-input | different-input"),
    ("--seed", "seed", int, "seed for weights, prompts and sampling"),
    ("--output", "output", str, "directory for reports (default ./results)"),
]


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _add_run(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="measure one configuration: the six metrics",
        description="Measure one configuration in a fresh worker process: output speed, TTFT, context "
        "load time, peak memory, batch efficiency and accuracy. With no arguments: the embedded "
        "SmolLM2-135M on 8 GSM8K questions.",
    )
    p.add_argument("--config", help="YAML config file (flags and --set override it)")
    for flag, _key, typ, help_ in _RUN_FLAGS:
        p.add_argument(flag, dest=_dest(flag), type=_ints if typ == "ints" else typ, help=help_)
    p.add_argument(
        "--random-weights", action="store_true", help="build the model's architecture with random weights"
    )
    p.add_argument("--do-sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--force-output-len", action="store_true", help="force exactly --max-new-tokens outputs")
    p.add_argument(
        "--inline", action="store_true", help="measure in this process (debugging; less trustworthy)"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any config key, e.g. --set top_p=0.9 or --set measure.max_repeats=20",
    )
    p.add_argument("--json", action="store_true", help="print the JSON report to stdout instead of the table")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flag, key, _typ, _help in _RUN_FLAGS:
        v = getattr(args, _dest(flag))
        if v is not None:
            out[key] = v
    if args.dataset is not None and args.workload is None:
        out["workload.kind"] = "jsonl"
    for name, key in (
        ("random_weights", "model.random_weights"),
        ("do_sample", "generation.do_sample"),
        ("force_output_len", "generation.force_output_len"),
    ):
        if getattr(args, name):
            out[key] = True
    if args.inline:
        out["measure.isolation"] = "inline"
    from infermeter.config import parse_value

    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise InfermeterError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = parse_value(value)
    return out


def _cmd_run(args: argparse.Namespace) -> int:
    from infermeter.api import run
    from infermeter.config import build_config, load_yaml
    from infermeter.report.console import render

    data = load_yaml(args.config) if args.config else {}
    cfg = build_config(data, _overrides(args), f" ({args.config})" if args.config else "")
    report = run(cfg, progress=not (args.quiet or args.json))
    if args.json:
        print(json.dumps(report.data, default=str))
    else:
        render(report.data)
    return 0


def _cmd_presets(args: argparse.Namespace) -> int:
    from infermeter.models.presets import PRESETS

    for name, p in PRESETS.items():
        print(f"{name:16s} {p.model_type:8s} {p.param_count() / 1e9:6.3f} B params  {p.notes}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="infermeter",
        description="Honest measurements of LLM inference: speed, latency, memory, scaling, accuracy.",
    )
    parser.add_argument("--version", action="version", version=f"infermeter {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run(sub)
    sub.add_parser("presets", help="list model presets (real architectures, random weights)")
    return parser


_COMMANDS = {"run": _cmd_run, "presets": _cmd_presets}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 1
    try:
        return _COMMANDS[args.command](args)
    except InfermeterError as err:
        if args.debug and isinstance(err, WorkerError) and err.traceback:
            print(err.traceback, file=sys.stderr)
        elif args.debug:
            raise
        print(f"infermeter: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("infermeter: interrupted (records measured so far are on disk)", file=sys.stderr)
        return 130
