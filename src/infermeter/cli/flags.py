"""Flags shared by the measuring commands, defined once and shown in groups.

Every flag maps to a config key (also settable as ``--set KEY=VALUE`` or in a YAML ``--config``).
A command picks the groups that apply to it: ``load`` talks to a server, so it shows no in-process
model flags (``--kv-cache``, ``--compile``, ``--attn``...).
"""

from __future__ import annotations

import argparse
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from infermeter.config import RunConfig, build_config, load_yaml, parse_value
from infermeter.errors import InfermeterError
from infermeter.workloads.serving_data import kind_for_file

MODEL, GENERATION, WORKLOAD, MEASUREMENT, SERVER, OUTPUT = (
    "model", "generation", "workload", "measurement", "server", "output",
)  # fmt: skip
ALL_GROUPS = (MODEL, GENERATION, WORKLOAD, MEASUREMENT, SERVER, OUTPUT)
_TITLES = {
    MODEL: "model (in-process engines)",
    GENERATION: "generation",
    WORKLOAD: "workload (prompts, datasets)",
    MEASUREMENT: "measurement",
    SERVER: "server (OpenAI-compatible HTTP)",
    OUTPUT: "config and output",
}


@dataclass(frozen=True)
class Flag:
    """A command-line flag bound to a config key."""

    flag: str
    key: str
    type: Any
    help: str
    group: str

    @property
    def dest(self) -> str:
        """The argparse destination name."""
        return self.flag.lstrip("-").replace("-", "_")


def ints(text: str) -> list[int]:
    """``1,2,4`` -> [1, 2, 4] (argparse type)."""
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


FLAGS: tuple[Flag, ...] = (
    Flag("--model", "model.name", str,
         "smollm2-135m (default, embedded), a preset (`infermeter presets`), HF folder, .gguf, cached hub id",
         MODEL),
    Flag("--device", "model.device", str, "auto | cpu | cuda | cuda:N | cuda:0,cuda:1 (one model over several GPUs)",
         MODEL),
    Flag("--dtype", "model.dtype", str, "auto | float32 | bfloat16 | float16", MODEL),
    Flag("--attn", "model.attn_implementation", str, "attention implementation: sdpa | eager | ...", MODEL),
    Flag("--kv-cache", "model.kv_cache", str, "KV cache: dynamic | static | off", MODEL),
    Flag("--compile", "model.compile", str, "torch.compile: auto | on | off", MODEL),
    Flag("--backend", "backend", str, "hf (default, in-process) | openai (a server: needs --base-url) | vllm; "
         "`infermeter backends` lists them", MODEL),
    Flag("--max-new-tokens", "generation.max_new_tokens", int, "output length cap (the target when forced)",
         GENERATION),
    Flag("--num-beams", "generation.num_beams", int, "beam search width", GENERATION),
    Flag("--temperature", "generation.temperature", float, "sampling temperature (with --do-sample)", GENERATION),
    Flag("--top-k", "generation.top_k", int, "top-k (with --do-sample)", GENERATION),
    Flag("--top-p", "generation.top_p", float, "nucleus mass in (0, 1] (with --do-sample)", GENERATION),
    Flag("--seed", "seed", int, "seed for weights, prompts and sampling", GENERATION),
    Flag("--workload", "workload.kind", str,
         "gsm8k (default) | gpqa | easy-vqa | okvqa | vqav2 | jsonl | csv | synthetic | shared-prefix | "
         "many-requests; `infermeter workloads` lists them", WORKLOAD),
    Flag("--dataset", "workload.path", str,
         "dataset file: .jsonl or .csv (prompt, answer(s), image; implies --workload jsonl / csv), "
         "the questions .json of --workload okvqa, a folder for --workload easy-vqa", WORKLOAD),
    Flag("--annotations", "workload.annotations", str, "okvqa/vqav2: the annotations JSON (ten answers per question)",
         WORKLOAD),
    Flag("--images", "workload.images", str, "okvqa/vqav2: the folder of COCO images", WORKLOAD),
    Flag("--limit", "workload.limit", int, "number of items / synthetic prompts (default 8)", WORKLOAD),
    Flag("--sample", "workload.sample", str, "first (default) | random: which dataset items (--set sample_seed=N)",
         WORKLOAD),
    Flag("--prompt-len", "workload.prompt_len", int, "synthetic prompt length in tokens", WORKLOAD),
    Flag("--batch-size", "workload.batch_size", int, "requests per generate() call in the main pass", WORKLOAD),
    Flag("--repeat-ratio", "workload.repeat_ratio", float,
         "fraction of requests that repeat an earlier one, in [0, 1) (seeded stream; run, load)", WORKLOAD),
    Flag("--prompt-lens", "measure.prompt_lens", "ints", "context-load curve lengths, e.g. 128,512,2048 ('' skips)",
         MEASUREMENT),
    Flag("--batch-sizes", "measure.batch_sizes", "ints", "batch-efficiency curve sizes, e.g. 1,2,4,8 ('' skips)",
         MEASUREMENT),
    Flag("--repeats", "measure.repeats", int,
         "minimum independent units per mean (run repeats its dataset pass for them)", MEASUREMENT),
    Flag("--warmup", "measure.warmup", str, "warm-up strategy: none | same-input | different-input", MEASUREMENT),
    Flag("--cache", "measure.response_cache", str,
         "response cache in front of the model: lru:ENTRIES | lru:64MB | lru:ENTRIES,BYTES | none (default); "
         "reports hit rate, hit/miss latency and cache memory (run, load)", MEASUREMENT),
    Flag("--output", "output", str, "directory for reports (default ./results)", OUTPUT),
    Flag("--label", "label", str, "a name for this run: `history` shows it, its folder is named after it", OUTPUT),
    Flag("--base-url", "server.base_url", str, "OpenAI-compatible server URL, e.g. http://127.0.0.1:8000", SERVER),
    Flag("--api", "server.api", str, "server API: chat (default) | completions", SERVER),
    Flag("--served-model", "server.served_model", str, "model name on the server (default: first of /v1/models)",
         SERVER),
    Flag("--request-timeout", "server.request_timeout_s", float,
         "overall deadline per request in seconds (default 60 + 0.5 per --max-new-tokens)", SERVER),
)  # fmt: skip

#: boolean switches: (flag, config key, help, group)
SWITCHES: tuple[tuple[str, str, str, str], ...] = (
    ("--random-weights", "model.random_weights", "build the model's architecture with random weights", MODEL),
    ("--do-sample", "generation.do_sample", "sample instead of greedy decoding", GENERATION),
    ("--force-output-len", "generation.force_output_len", "force exactly --max-new-tokens outputs", GENERATION),
    ("--skip-bad", "workload.skip_bad",
     "skip bad dataset items (missing/corrupt image, no answer, malformed line) and count them", WORKLOAD),
)  # fmt: skip

#: what the flags of each kind of command are
IN_PROCESS = ALL_GROUPS
SERVING = (GENERATION, WORKLOAD, SERVER, OUTPUT)


def add_config_flags(
    p: argparse.ArgumentParser, groups: tuple[str, ...] = ALL_GROUPS, skip: tuple[str, ...] = ()
) -> dict[str, argparse._ArgumentGroup]:
    """Add the config flags of ``groups`` (minus ``skip``) to ``p``, one argparse group each.

    Returns the groups so a command can add its own flags to them.
    """
    made = {g: p.add_argument_group(_TITLES[g]) for g in (*groups, OUTPUT) if g in ALL_GROUPS}
    for f in FLAGS:
        if f.group in groups and f.flag not in skip:
            made[f.group].add_argument(f.flag, dest=f.dest, type=ints if f.type == "ints" else f.type, help=f.help)
    for flag, _key, help_, group in SWITCHES:
        if group in groups and flag not in skip:
            made[group].add_argument(flag, action="store_true", help=help_)
    out = made[OUTPUT]
    out.add_argument("--config", help="YAML config file (flags and --set override it)")
    out.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any config key, e.g. --set top_p=0.9 or --set measure.max_repeats=20 (keys: docs/config.md)",
    )
    out.add_argument("--json", action="store_true", help="print the JSON report to stdout instead of tables")
    out.add_argument("--quiet", action="store_true", help="no progress bar")
    out.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    out.add_argument("--db", help="results database (default $INFERMETER_DB or ~/.infermeter/results.db; 'off')")
    if SERVER in groups:
        made[SERVER].add_argument(
            "--api-key",
            help="server API key (prefer the environment variable named by server.api_key_env, default "
            "OPENAI_API_KEY: a flag shows in the process list); never written to reports or logs",
        )
    return made


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Config overrides from the parsed flags and ``--set`` (flags the command lacks are skipped)."""
    out: dict[str, Any] = {}
    for f in FLAGS:
        v = getattr(args, f.dest, None)
        if v is not None:
            out[f.key] = v
    dataset, workload = getattr(args, "dataset", None), getattr(args, "workload", None)
    if dataset is not None and workload == "synthetic":
        raise InfermeterError("--dataset is not read by --workload synthetic: drop one of them")
    if dataset is not None and workload is None and not os.path.isdir(dataset):
        # The file says what it is (ShareGPT, prompt rows, a trace, CSV). VQA questions (.json) and
        # folders (easy-VQA layout) leave the kind to --workload or the config file.
        kind = kind_for_file(dataset)
        if kind:
            out["workload.kind"] = kind
    for flag, key, _help, _group in SWITCHES:
        if getattr(args, flag.lstrip("-").replace("-", "_"), False):
            out[key] = True
    if getattr(args, "api_key", None):  # kept out of the config (configs go into reports); workers inherit it
        os.environ["INFERMETER_API_KEY"] = args.api_key
    if getattr(args, "inline", False):
        out["measure.isolation"] = "inline"
    _check_cache_flags(args, out)
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise InfermeterError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = parse_value(value)
    return out


_KV_KINDS = ("dynamic", "static", "off")


def _check_cache_flags(args: argparse.Namespace, out: dict[str, Any]) -> None:
    """``--cache`` is the response cache; the KV-cache kinds are ``--kv-cache``."""
    value = out.get("measure.response_cache")
    if isinstance(value, str) and value.strip().lower() in _KV_KINDS:
        raise InfermeterError(f"--cache takes lru:SIZE or none: did you mean --kv-cache {value.strip().lower()}?")
    flags = (("--cache", "measure.response_cache"), ("--repeat-ratio", "workload.repeat_ratio"))
    used = [flag for flag, key in flags if key in out]
    if used and getattr(args, "command", None) in ("compare", "soak"):
        raise InfermeterError(f"{used[0]} applies to run and load, not {args.command} (the KV cache is --kv-cache)")


def deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``b`` over ``a``, nested dicts merged key by key."""
    out = dict(a)
    for k, v in b.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def config_from_args(args: argparse.Namespace, base: dict[str, Any] | None = None) -> RunConfig:
    """A command's RunConfig: its defaults (``base``) < the ``--config`` YAML < flags and ``--set``."""
    data = deep_merge(base or {}, load_yaml(args.config)) if args.config else dict(base or {})
    return build_config(data, overrides(args), f" ({args.config})" if args.config else "")


def split_pairs(text: str) -> dict[str, Any]:
    """``a=1,b=[1,2],c=x`` -> dict; a comma starts a new pair only when a ``key=`` follows it."""
    out = {}
    for part in re.split(r",(?=\s*[A-Za-z_][\w.]*=)", text):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InfermeterError(f"--variant expects NAME:KEY=VALUE[,KEY=VALUE...], got {text!r}")
        out[key.strip()] = parse_value(value)
    return out


def emit(args: argparse.Namespace, report: Any, render: Any) -> None:
    """Print a finished report: JSON with ``--json``, else the command's console view."""
    if args.json:
        print(json.dumps(report.data, default=str))
    else:
        render(report.data)


def progress_on(args: argparse.Namespace) -> bool:
    """Whether to draw progress (not with --quiet or --json)."""
    return not (args.quiet or args.json)
