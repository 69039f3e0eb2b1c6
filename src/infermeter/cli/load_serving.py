"""``load``'s flags in the vocabulary of ``vllm bench serve`` and GuideLLM, mapped onto load's own options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.scenarios.load_options import ramp_profile, request_rate_profile
from infermeter.workloads.serving_data import FORMATS

SERVING_EPILOG = """datasets (--dataset-name, alias --workload; a --dataset file's format is recognised):
  sharegpt (first human turn, the reply's length as max_tokens) | multi-turn (every turn with its history)
  | hf-json (--columns prompt=COL,output_len=COL,reply=COL,system=COL) | random (--lengths
  prompt_tokens=256,output_tokens=128; N, A-B or _stdev/_min/_max) | sonnet (shared prefix: --prefix-len)
  | trace (JSONL of timestamp ms, input_length, output_length; sent at their times, --trace-speed 2)
vLLM's flags: --num-prompts N, --request-rate R|inf (Poisson; --burstiness B: gamma), --max-concurrency N
  (in flight at most, every profile), --ramp-up-strategy linear|exponential --ramp-up-start-rps A
  --ramp-up-end-rps B, --goodput ttft:200,tpot:50 (ms), --percentiles 50,90,99,99.9, --metadata k=v,
  --label, --tokenizer (qwen or a HF tokenizer folder), --export vllm[=FILE]
"""


def add_serving_flags(p: argparse.ArgumentParser) -> None:
    """The flags vLLM and GuideLLM users type (each maps onto load's own options)."""
    p.add_argument("--dataset-name", dest="workload", help="the workload: an alias of --workload (vLLM's name)")
    p.add_argument("--num-prompts", type=int, help="requests to send (vLLM): --max-requests and --limit at once")
    p.add_argument("--request-rate", help="requests/s, Poisson arrivals (vLLM); inf: all at once")
    p.add_argument("--burstiness", type=float, default=1.0, help="gamma shape of the gaps (1 = Poisson, < 1 bursty)")
    p.add_argument("--ramp-up-strategy", help="linear | exponential: the rate moves from start to end (vLLM)")
    p.add_argument("--ramp-up-start-rps", type=float, help="ramp-up: the first rate (requests/s)")
    p.add_argument("--ramp-up-end-rps", type=float, help="ramp-up: the last rate (requests/s)")
    p.add_argument("--goodput", help="vLLM's SLO form: ttft:200,tpot:50,e2el:2000 (milliseconds); as --slo")
    p.add_argument("--percentiles", "--metric-percentiles", dest="percentiles",
                   help="latency percentiles to report, e.g. 50,90,95,99,99.9 (p50/p90/p95/p99 always)")  # fmt: skip
    p.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE", help="stored with the run")
    p.add_argument("--tokenizer", help="client-side tokenizer: qwen or a HF tokenizer folder (default: qwen)")
    p.add_argument("--lengths", help="random: prompt_tokens=N,output_tokens=N (N, A-B, or _stdev/_min/_max)")
    p.add_argument("--prefix-len", type=int, help="sonnet: tokens every prompt shares (default 200)")
    p.add_argument("--columns", help="hf-json column names: prompt=COL,output_len=COL,reply=COL,system=COL")
    p.add_argument("--output-len", type=int, help="every request's output length, instead of the dataset's (vLLM)")
    p.add_argument("--trace-speed", help="trace replay speed: 2 or 2x sends twice as fast (default 1)")
    p.add_argument("--export", metavar="vllm[=FILE]", help="also write vLLM's result JSON (default FILE: vllm.json)")


def _pairs(text: str, flag: str) -> dict[str, str]:
    out = {}
    for part in filter(None, (x.strip() for x in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InfermeterError(f"{flag} expects NAME=VALUE[,NAME=VALUE...], got {part!r}")
        out[key.strip()] = value.strip()
    return out


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Config keys set by the serving flags."""
    out: dict[str, Any] = {}
    if args.tokenizer:
        out["server.tokenizer"] = args.tokenizer
    if args.lengths:
        out["workload.lengths"] = args.lengths
    if args.prefix_len is not None:
        out["workload.prefix_len"] = args.prefix_len
    if args.output_len is not None:
        out["workload.output_len"] = args.output_len
    if args.columns:
        out["workload.columns"] = _pairs(args.columns, "--columns")
    if args.num_prompts is not None and args.limit is None:
        out["workload.limit"] = args.num_prompts
    return out


def profile_from_args(args: argparse.Namespace, kind: str) -> str:
    """``--profile``, or the one that --request-rate / --ramp-up-* / a trace workload imply."""

    implied = []
    if args.request_rate is not None:
        implied.append(request_rate_profile(args.request_rate, args.max_concurrency, args.num_prompts))
    if args.ramp_up_strategy is not None:
        implied.append(ramp_profile(args.ramp_up_strategy, args.ramp_up_start_rps, args.ramp_up_end_rps))
    if kind == "trace" and args.profile is None:
        implied.append(f"trace:{(args.trace_speed or '1').rstrip('x')}")
    if len(implied) + (args.profile is not None) > 1:
        raise InfermeterError("give one of --profile, --request-rate, --ramp-up-strategy (each sets the profile)")
    return implied[0] if implied else (args.profile or "synchronous")


def check_dataset(args: argparse.Namespace, cfg: Any) -> None:
    """A --dataset that would not be read is an error, never a silent synthetic run."""

    if args.dataset and cfg.workload.kind in ("synthetic", "random"):
        raise InfermeterError(
            f"--dataset {args.dataset}: the {cfg.workload.kind} workload does not read a file; name the file's "
            f"format with --dataset-name (formats: {FORMATS})"
        )


def export_path(spec: str | None, run_dir: Path) -> Path | None:
    """``--export vllm`` -> RUN_DIR/vllm.json; ``vllm=FILE`` -> FILE; None without --export."""
    if not spec:
        return None
    fmt, _, target = spec.partition("=")
    if fmt.strip() != "vllm":
        raise InfermeterError(f"--export {spec!r}: the format is vllm (vllm or vllm=FILE)")
    return Path(target) if target else run_dir / "vllm.json"
