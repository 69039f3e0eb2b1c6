"""``infermeter load`` (a server under a rate profile) and ``infermeter serve-null`` (calibration server)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from infermeter.api import load
from infermeter.cli.flags import SERVER, SERVING, add_config_flags, config_from_args, emit, progress_on
from infermeter.cli.load_extras import add_extra_flags, extra_options, ray_ready
from infermeter.cli.load_serving import (
    SERVING_EPILOG,
    add_serving_flags,
    check_dataset,
    config_overrides,
    export_path,
    profile_from_args,
)
from infermeter.cli.options import flag_values
from infermeter.config import build_config
from infermeter.core.limits import port
from infermeter.core.records import RECORDS_FILE, read_records
from infermeter.errors import InfermeterError
from infermeter.interop.vllm import export
from infermeter.metrics.goodput import parse_slo
from infermeter.models.light_tokenizer import prefetch_qwen
from infermeter.render.console_load import render_load
from infermeter.scenarios.load_options import parse_metadata, parse_percentiles
from infermeter.scenarios.load_profiles import LoadOptions
from infermeter.scenarios.soak import parse_duration
from infermeter.servers.null import NullOptions, serve

_SERVE_EPILOG = """examples:
  infermeter serve-null --port 8001 --tokens 128 --pace-ms 10       # ~100 tok/s per stream
  infermeter serve-null --port 8001 --pace-ms 0 --tokens 1024        # calibration: client overhead only
  infermeter serve-null --fault http429 --fault-every 5               # every 5th request is rate limited
faults: http500 | http429 | malformed (broken JSON event) | drop-mid-stream (connection cut halfway)
  | stall (silence after two tokens: the client's read timeout fires)
"""


def _add_serve_null(sub: Any) -> None:
    p = sub.add_parser(
        "serve-null",
        help="a null OpenAI-compatible streaming server (calibration and tests)",
        description="Serve /v1/chat/completions, /v1/completions and /v1/models without a model: each "
        "request streams --tokens tokens (fewer if max_tokens asks), the first after --ttft-ms, then one "
        "every --pace-ms. Measuring it with pace 0 measures the client itself.",
        epilog=_SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=8001, help="port (0: any free port; the ready line says which)")
    p.add_argument("--tokens", type=int, default=128, help="tokens per response (default 128)")
    p.add_argument("--pace-ms", type=float, default=10.0, help="milliseconds between tokens (default 10; 0 = flat out)")
    p.add_argument("--ttft-ms", type=float, default=0.0, help="milliseconds before the first token (default 0)")
    p.add_argument("--chunk-tokens", type=int, default=1, help="tokens per SSE chunk (default 1)")
    p.add_argument("--model", default="null-model", help="model id reported by /v1/models")
    p.add_argument("--fault", default="none", help="none | http500 | http429 | malformed | drop-mid-stream | stall")
    p.add_argument("--fault-every", type=int, default=1, help="apply --fault to every N-th request (default 1: all)")
    p.add_argument("--no-metrics", action="store_true", help="serve no /metrics (as a server without them)")
    p.add_argument("--kv-slots", type=int, default=64, help="/metrics: streams that fill the pretend KV cache")
    p.add_argument("--max-model-len", type=int, help="context window reported by /v1/models (default: none)")
    p.add_argument(
        "--die-after-chunks", type=int, default=0, metavar="N", help="exit abruptly after N token chunks (a crash)"
    )
    p.add_argument(
        "--log-requests", action="store_true", help="print one line per completion request to stderr (its number)"
    )
    p.add_argument(
        "--require-key-env",
        metavar="VAR",
        help="answer 401 unless the request carries the bearer key held in environment variable VAR",
    )


def _cmd_serve_null(args: argparse.Namespace) -> int:
    key = None
    if args.require_key_env:
        key = os.environ.get(args.require_key_env)
        if not key:
            raise InfermeterError(f"--require-key-env: environment variable {args.require_key_env} is not set")
    opts = NullOptions(
        **flag_values(args, "tokens", "pace_ms", "ttft_ms", "chunk_tokens", "model", "fault", "fault_every"),
        kv_slots=args.kv_slots,
        require_key=key,
        metrics=not args.no_metrics,
        max_model_len=args.max_model_len,
        die_after_chunks=args.die_after_chunks,
        log_requests=args.log_requests,
    )
    opts.validate()
    try:
        serve(opts, args.host, args.port)
    except OSError as err:
        raise InfermeterError(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}") from None
    return 0


EXIT_PARTIAL = 4

_LOAD_EPILOG = f"""examples:
  infermeter load --base-url http://127.0.0.1:8000 --profile poisson:5 --duration 60s --slo ttft=200ms,tpot=50ms
  infermeter load --base-url URL --profile concurrent:16 --max-requests 500 --window-warmup 10% --window-cooldown 10%
  infermeter load --base-url URL --profile sweep --max-requests 100 --dataset prompts.jsonl --api completions
  infermeter load --base-url URL --profile poisson:2000 --duration 60s --executor ray --client-shards 4   # Ray
profiles: synchronous | concurrent:N | throughput (--max-concurrency in flight) | constant:R | poisson:R
  (R requests/s, seeded by --seed) | sweep (synchronous, throughput, then constant rates in between)
  | ramp:linear|exponential:A:B (the rate moves from A to B) | trace[:SPEED] (a trace's own send times)
  | slo-search (with --slo: the highest Poisson rate whose goodput meets it, found by bisection)
server metrics: the server's Prometheus /metrics is scraped every second (--server-metrics auto|off|URL)
exit codes: 0 every request succeeded; {EXIT_PARTIAL} the run finished or stopped (--max-errors) with failed
  requests: the report is partial (errors by reason in it); 2 bad input or unreachable server; 130 interrupted
the API key: $OPENAI_API_KEY (or the variable named by --set server.api_key_env=VAR), or --api-key;
  it is never written to reports, the results database or logs
"""


def _add_load(sub: Any) -> None:
    p = sub.add_parser(
        "load",
        help="measure an OpenAI-compatible server under a rate profile (TTFT, ITL, throughput, goodput)",
        description="Send the workload's prompts to a server (--base-url) following a rate profile, streaming "
        "every answer; report per profile point the achieved vs target rate, request and output throughput, "
        "TTFT/TPOT/ITL/E2E percentiles and goodput against --slo. Every request's record is written as it "
        "completes. By default: synthetic prompts (--prompt-len) with a forced output length.",
        epilog=_LOAD_EPILOG + SERVING_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    groups = add_config_flags(p, SERVING, skip=("--batch-size",))
    groups[SERVER].add_argument(
        "--model", help="a local model whose tokenizer counts tokens on the client (default: the Qwen tokenizer)"
    )
    add_serving_flags(p)
    p.add_argument("--profile", help="rate profile, see below (default synchronous)")
    p.add_argument("--max-requests", type=int, help="requests per profile point")
    p.add_argument("--duration", help="time per profile point, e.g. 30s, 5m (with --max-requests: whichever first)")
    p.add_argument(
        "--window-warmup",
        "--warmup",  # the older name, kept working
        dest="window_warmup",
        help="left out of the measured window at the start: a share (10%%) or seconds (5s)",
    )
    p.add_argument(
        "--window-cooldown",
        "--cooldown",
        dest="cooldown",
        help="left out of the measured window at the end: a share (10%%) or seconds (5s)",
    )
    p.add_argument("--slo", help="goodput SLOs, e.g. ttft=200ms,tpot=50ms,e2e=2s (a bare number is milliseconds)")
    p.add_argument("--max-errors", type=int, help="stop the run once this many requests have failed")
    p.add_argument("--sweep-points", type=int, default=6, help="points of a sweep, ends included (default 6)")
    p.add_argument(
        "--max-concurrency",
        type=int,
        help="requests in flight at most, under every profile (throughput's concurrency; default 64 there)",
    )

    add_extra_flags(p)


def _cmd_load(args: argparse.Namespace) -> int:
    if args.model is None and args.tokenizer in (None, "qwen"):  # the client will count with Qwen's tokenizer
        prefetch_qwen()  # read on a thread while the rest starts
    cfg = config_from_args(args, {"backend": "openai", "workload": {"kind": "synthetic"}})
    cfg = build_config(cfg.model_dump(), config_overrides(args))
    check_dataset(args, cfg)
    if args.slo and args.goodput:
        raise InfermeterError("give --slo or --goodput (the same SLOs), not both")
    opts = LoadOptions(
        profile=profile_from_args(args, cfg.workload.kind),
        max_requests=args.max_requests if args.max_requests is not None else args.num_prompts,
        duration_s=parse_duration(args.duration) if args.duration else None,
        warmup=args.window_warmup,
        slo=parse_slo(args.slo or args.goodput, "--slo" if args.slo else "--goodput")
        if args.slo or args.goodput
        else {},
        max_concurrency=args.max_concurrency or 64,
        seed=cfg.seed,
        concurrency_cap=args.max_concurrency,
        percentiles=parse_percentiles(args.percentiles),
        metadata=parse_metadata(args.metadata),
        **flag_values(args, "cooldown", "max_errors", "sweep_points", "burstiness", "label"),
        **extra_options(args),
    )
    ray_ready(opts)  # --executor ray: Ray installed, --ray-address reachable, before a run folder is made
    export_path(args.export, Path("."))  # a bad --export fails before the run
    report = load(cfg, opts, progress=progress_on(args))
    target = export_path(args.export, Path(report.data["run_dir"]))
    if target is not None:
        export(report.data, read_records(Path(report.data["run_dir"]) / RECORDS_FILE), target)
        if not args.json:
            print(f"vLLM result: {target}")
    emit(args, report, render_load)
    return EXIT_PARTIAL if report.data["status"] == "partial" else 0


def add_parsers(sub: Any) -> dict[str, Any]:
    """Register ``load`` and ``serve-null``; return their handlers."""
    _add_load(sub)
    _add_serve_null(sub)
    return {"load": _cmd_load, "serve-null": _cmd_serve_null}
