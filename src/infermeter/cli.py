"""The ``infermeter`` command line: parse, build a config, call the API, render.

Errors a user can act on print as one line and exit non-zero; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import re
import signal
import sys
from collections.abc import Sequence
from typing import Any

from infermeter import __version__
from infermeter.core.redact import for_terminal
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
    ("--kv-cache", "model.cache", str, "KV cache: dynamic | static | off"),
    (
        "--cache",
        "measure.response_cache",
        str,
        "response cache in front of the model: lru:ENTRIES | lru:64MB | lru:ENTRIES,BYTES | none (default); "
        "reports hit rate, hit/miss latency and cache memory (run, load)",
    ),
    (
        "--repeat-ratio",
        "workload.repeat_ratio",
        float,
        "fraction of requests that repeat an earlier one, in [0, 1) (seeded stream; run, load)",
    ),
    ("--compile", "model.compile", str, "torch.compile: auto | on | off"),
    (
        "--workload",
        "workload.kind",
        str,
        "gsm8k (default) | gpqa | easy-vqa | okvqa | vqav2 | jsonl | csv | synthetic | shared-prefix | many-requests",
    ),
    (
        "--dataset",
        "workload.path",
        str,
        "dataset file: .jsonl or .csv (prompt, answer(s), image; implies --workload jsonl / csv), "
        "the questions .json of --workload okvqa, a folder for --workload easy-vqa",
    ),
    ("--annotations", "workload.annotations", str, "okvqa/vqav2: the annotations JSON (ten answers per question)"),
    ("--images", "workload.images", str, "okvqa/vqav2: the folder of COCO images"),
    ("--limit", "workload.limit", int, "number of items / synthetic prompts (default 8)"),
    ("--sample", "workload.sample", str, "first (default) | random: which dataset items (--set sample_seed=N)"),
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
    ("--backend", "backend", str, "hf (default, in-process) | openai (a server: needs --base-url) | ..."),
    ("--base-url", "server.base_url", str, "OpenAI-compatible server URL, e.g. http://127.0.0.1:8000"),
    ("--api", "server.api", str, "server API: chat (default) | completions"),
    ("--served-model", "server.served_model", str, "model name on the server (default: first of /v1/models)"),
    (
        "--request-timeout",
        "server.request_timeout_s",
        float,
        "overall deadline per request in seconds (default 60 + 0.5 per --max-new-tokens)",
    ),
]


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _add_config_flags(p: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
    p.add_argument("--config", help="YAML config file (flags and --set override it)")
    for flag, _key, typ, help_ in _RUN_FLAGS:
        if flag not in skip:
            p.add_argument(flag, dest=_dest(flag), type=_ints if typ == "ints" else typ, help=help_)
    p.add_argument("--random-weights", action="store_true", help="build the model's architecture with random weights")
    p.add_argument("--do-sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--force-output-len", action="store_true", help="force exactly --max-new-tokens outputs")
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip bad dataset items (missing/corrupt image, no answer, malformed line) and count them",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any config key, e.g. --set top_p=0.9 or --set measure.max_repeats=20",
    )
    p.add_argument("--json", action="store_true", help="print the JSON report to stdout instead of tables")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    p.add_argument("--db", help="results database (default $INFERMETER_DB or ~/.infermeter/results.db; 'off' disables)")
    p.add_argument(
        "--api-key",
        help="server API key (prefer the environment variable named by server.api_key_env, default "
        "OPENAI_API_KEY: a flag shows in the process list); never written to reports or logs",
    )


def _add_run(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="measure one configuration: the six metrics",
        description="Measure one configuration in a fresh worker process: output speed, TTFT, context "
        "load time, peak memory, batch efficiency and accuracy. With no arguments: the embedded "
        "SmolLM2-135M on 8 GSM8K questions.",
    )
    _add_config_flags(p)
    p.add_argument("--inline", action="store_true", help="measure in this process (debugging; less trustworthy)")


_COMPARE_EPILOG = """examples:
  infermeter compare eager.yaml compiled.yaml
  infermeter compare --model qwen3-1.7b --device cuda --variant eager:compile=off \\
                     --variant compiled:compile=on,cache=static
  infermeter compare --model tiny-qwen3 --variant sdpa:attn_implementation=sdpa \\
                     --variant eager:attn_implementation=eager --isolation inline --cleanup gc
  infermeter compare a.yaml b.yaml --warmup-compare
"""


def _add_compare(sub: Any) -> None:
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
    _add_config_flags(p, skip=("--warmup", "--repeats", "--prompt-lens", "--batch-sizes"))
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
        "--warmup-compare", action="store_true", help="also measure every warm-up strategy (seed 000's table)"
    )


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flag, key, _typ, _help in _RUN_FLAGS:
        v = getattr(args, _dest(flag), None)
        if v is not None:
            out[key] = v
    if args.dataset is not None and args.workload == "synthetic":
        raise InfermeterError("--dataset is not read by --workload synthetic: drop one of them")
    if args.dataset is not None and args.workload is None:
        # The file says what it is. A .json (VQA questions) or a folder (easy-VQA layout) leaves the
        # kind to --workload or the config file.
        suffix = os.path.splitext(args.dataset)[1].lower()
        if suffix == ".csv":
            out["workload.kind"] = "csv"
        elif suffix != ".json" and not os.path.isdir(args.dataset):
            out["workload.kind"] = "jsonl"
    for name, key in (
        ("random_weights", "model.random_weights"),
        ("do_sample", "generation.do_sample"),
        ("force_output_len", "generation.force_output_len"),
        ("skip_bad", "workload.skip_bad"),
    ):
        if getattr(args, name):
            out[key] = True
    if getattr(args, "api_key", None):  # kept out of the config (configs go into reports); workers inherit it
        os.environ["INFERMETER_API_KEY"] = args.api_key
    if getattr(args, "inline", False):
        out["measure.isolation"] = "inline"
    _check_cache_flags(args, out)
    from infermeter.config import parse_value

    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise InfermeterError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = parse_value(value)
    return out


_KV_KINDS = ("dynamic", "static", "off")


def _check_cache_flags(args: argparse.Namespace, out: dict[str, Any]) -> None:
    """``--cache`` is the response cache; the KV-cache kinds went to ``--kv-cache`` (issue 8)."""
    value = out.get("measure.response_cache")
    if isinstance(value, str) and value.strip().lower() in _KV_KINDS:
        raise InfermeterError(f"--cache takes lru:SIZE or none: did you mean --kv-cache {value.strip().lower()}?")
    flags = (("--cache", "measure.response_cache"), ("--repeat-ratio", "workload.repeat_ratio"))
    used = [flag for flag, key in flags if key in out]
    if used and getattr(args, "command", None) in ("compare", "soak"):
        raise InfermeterError(f"{used[0]} applies to run and load, not {args.command} (the KV cache is --kv-cache)")


def config_from_args(args: argparse.Namespace, base: dict[str, Any] | None = None) -> Any:
    """A command's RunConfig: its defaults (``base``) < the ``--config`` YAML < flags and ``--set``."""
    from infermeter.config import build_config, load_yaml

    data = _deep_merge(base or {}, load_yaml(args.config)) if args.config else dict(base or {})
    return build_config(data, _overrides(args), f" ({args.config})" if args.config else "")


def emit(args: argparse.Namespace, report: Any, render: Any) -> None:
    """Print a finished report: JSON with ``--json``, else the command's console view."""
    if args.json:
        print(json.dumps(report.data, default=str))
    else:
        render(report.data)


def _cmd_run(args: argparse.Namespace) -> int:
    from infermeter.api import run
    from infermeter.report.console import render

    cfg = config_from_args(args)
    emit(args, run(cfg, progress=not (args.quiet or args.json)), render)
    return 0


def _split_pairs(text: str) -> dict[str, Any]:
    """``a=1,b=[1,2],c=x`` -> dict; a comma starts a new pair only when a ``key=`` follows it."""
    from infermeter.config import parse_value

    out = {}
    for part in re.split(r",(?=\s*[A-Za-z_][\w.]*=)", text):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InfermeterError(f"--variant expects NAME:KEY=VALUE[,KEY=VALUE...], got {text!r}")
        out[key.strip()] = parse_value(value)
    return out


def _cmd_compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from infermeter.api import compare
    from infermeter.config import apply_overrides, load_yaml
    from infermeter.report.console_compare import render_compare
    from infermeter.scenarios.compare import CompareOptions

    # A compare is a speed A/B: by default one synthetic batch of 1 with a forced length.
    base = {"workload": {"kind": "synthetic", "batch_size": 1}, "generation": {"max_new_tokens": 64}}
    if args.config:
        base = _deep_merge(base, load_yaml(args.config))
    base = apply_overrides(base, _overrides(args))
    variants: list[tuple[str, Any]] = []
    for path in args.variant_configs:
        variants.append((Path(path).stem, apply_overrides(_deep_merge(base, load_yaml(path)), _overrides(args))))
    for spec in args.variant:
        name, sep, pairs = spec.partition(":")
        if not name.strip():
            raise InfermeterError(f"--variant needs a name: NAME:KEY=VALUE,..., got {spec!r}")
        variants.append((name.strip(), apply_overrides(base, _split_pairs(pairs) if sep and pairs else {})))
    opts = CompareOptions(
        metrics=tuple(m.strip() for m in args.metric.split(",") if m.strip()),
        rounds=args.rounds,
        max_rounds=max(args.max_rounds, args.rounds),
        target_ci=args.target_ci,
        budget_s=args.budget_s,
        calls=args.calls,
        warmup=args.warmup,
        isolation=args.isolation,
        cleanup=args.cleanup,
        retain_previous=args.retain_previous,
        warmup_compare=args.warmup_compare,
        seed=int(base.get("seed", 0)),
    )
    emit(args, compare(variants, opts, progress=not (args.quiet or args.json)), render_compare)
    return 0


def _deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


# -- soak (issue #4) -------------------------------------------------------------------------------
_SOAK_EPILOG = """examples:
  infermeter soak --model qwen3-1.7b --device cuda --calls 10 --at 1,5,10
  infermeter soak --duration 10m --strategies none,full --inputs fixed
  infermeter soak --strategies session --batch-sizes 1,2,4,8 --dataset questions.jsonl
strategies: none | gc | gc+empty_cache | full (optimize.cleanup after every call) |
  recreate (new model instance every --recreate-every calls) | session (each call inside inference_session)
"""


def _add_soak(sub: Any) -> None:
    p = sub.add_parser(
        "soak",
        help="repeat calls: detect latency/memory decay and compare cleanup strategies",
        description="Repeat calls per cleanup strategy (and batch size), each configuration in a fresh "
        "process; record E2E, TTFT, TPOT and memory per call; test each series for a trend (Theil-Sen "
        "slope with CI, Mann-Kendall) and for steps. Prints seed 002's table with a verdict per metric.",
        epilog=_SOAK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_flags(p, skip=("--warmup", "--repeats", "--prompt-lens", "--batch-sizes"))
    p.add_argument("--calls", type=int, help="calls per configuration (default 20)")
    p.add_argument("--duration", help="run each configuration this long instead of --calls, e.g. 60s, 5m")
    p.add_argument(
        "--strategies",
        default="none,gc,gc+empty_cache,full,recreate,session",
        help="comma-separated, see below (default: all six)",
    )
    p.add_argument(
        "--batch-sizes", dest="chunk_sizes", type=_ints, metavar="B,...", help="chunking: every strategy at each size"
    )
    p.add_argument(
        "--at",
        type=_ints,
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
    p.add_argument("--leak", action="store_true", help="calibration: keep every output and KV cache (a known leak)")
    p.add_argument("--inline", action="store_true", help="run in this process (debugging; less trustworthy)")


def _cmd_soak(args: argparse.Namespace) -> int:
    from infermeter.api import soak
    from infermeter.report.console_soak import render_soak
    from infermeter.scenarios.soak import SoakOptions, parse_duration

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
        inputs=args.inputs,
        warmup_calls=args.warmup_calls,
        recreate_every=args.recreate_every,
        min_step=args.min_step,
        leak=args.leak,
    )
    emit(args, soak(cfg, opts, progress=not (args.quiet or args.json)), render_soak)
    return 0


def _cmd_presets(args: argparse.Namespace) -> int:
    from infermeter.models.presets import PRESETS

    for name, p in PRESETS.items():
        print(f"{name:16s} {p.model_type:10s} {p.param_count() / 1e9:6.3f} B params  {p.notes}")
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
    _add_compare(sub)
    _add_soak(sub)
    sub.add_parser("presets", help="list model presets (real architectures, random weights)")
    for module in _COMMAND_MODULES:  # each holds one family of subcommands: add_parsers(sub) -> handlers
        if importlib.util.find_spec(module) is not None:
            _COMMANDS.update(importlib.import_module(module).add_parsers(sub))
    return parser


# A new family of subcommands is one module with ``add_parsers(sub) -> {name: handler}`` listed here.
_COMMAND_MODULES = (
    "infermeter.cli_results",  # report, history, diff
    "infermeter.cli_load",  # load, serve-null (servers, issue 5)
    "infermeter.cli_sweep",  # sweep (issue 6)
    "infermeter.cli_cache",  # proxy (issue 8)
)


_COMMANDS = {"run": _cmd_run, "compare": _cmd_compare, "soak": _cmd_soak, "presets": _cmd_presets}


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # `timeout`, schedulers and CI send SIGTERM: turn it into KeyboardInterrupt so that reports
    # are finalized (status "interrupted") by the same code paths as Ctrl-C.
    signal.signal(signal.SIGTERM, _terminate)
    if getattr(args, "db", None):  # workers inherit the environment, so they record there too
        os.environ["INFERMETER_DB"] = args.db
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
        print(f"infermeter: error: {for_terminal(err)}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("infermeter: interrupted (records measured so far are on disk)", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - one line without --debug, whatever went wrong
        if args.debug:
            raise
        print(f"infermeter: error: {unexpected(err)}", file=sys.stderr)
        return 2 if isinstance(err, OSError) else 1


def unexpected(err: BaseException) -> str:
    """One line for an exception that is not an InfermeterError: a file problem, or a bug."""
    if isinstance(err, OSError) and err.strerror:
        where = f": {err.filename}" if err.filename else ""
        return for_terminal(f"{err.strerror}{where}")
    return for_terminal(f"unexpected {type(err).__name__}: {str(err)[:300]} (a bug: --debug shows the traceback)")
