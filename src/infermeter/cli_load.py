"""``infermeter load`` (a server under a rate profile) and ``infermeter serve-null`` (calibration server)."""

from __future__ import annotations

import argparse
from typing import Any

from infermeter.core.limits import port
from infermeter.errors import InfermeterError

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
    p.add_argument(
        "--require-key-env",
        metavar="VAR",
        help="answer 401 unless the request carries the bearer key held in environment variable VAR",
    )


def _cmd_serve_null(args: argparse.Namespace) -> int:
    import os

    from infermeter.servers.null import NullOptions, serve

    key = None
    if args.require_key_env:
        key = os.environ.get(args.require_key_env)
        if not key:
            raise InfermeterError(f"--require-key-env: environment variable {args.require_key_env} is not set")
    opts = NullOptions(
        tokens=args.tokens,
        pace_ms=args.pace_ms,
        ttft_ms=args.ttft_ms,
        chunk_tokens=args.chunk_tokens,
        model=args.model,
        fault=args.fault,
        fault_every=args.fault_every,
        require_key=key,
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
  infermeter load --base-url URL --profile concurrent:16 --max-requests 500 --warmup 10% --cooldown 10%
  infermeter load --base-url URL --profile sweep --max-requests 100 --dataset prompts.jsonl --api completions
profiles: synchronous | concurrent:N | throughput (--max-concurrency in flight) | constant:R | poisson:R
  (R requests/s, seeded by --seed) | sweep (synchronous, throughput, then constant rates in between)
exit codes: 0 every request succeeded; {EXIT_PARTIAL} the run finished or stopped (--max-errors) with failed
  requests: the report is partial (errors by reason in it); 2 bad input or unreachable server; 130 interrupted
the API key: $OPENAI_API_KEY (or the variable named by --set server.api_key_env=VAR), or --api-key;
  it is never written to reports, the results database or logs
"""


def _add_load(sub: Any) -> None:
    from infermeter.cli import _add_config_flags

    p = sub.add_parser(
        "load",
        help="measure an OpenAI-compatible server under a rate profile (TTFT, ITL, throughput, goodput)",
        description="Send the workload's prompts to a server (--base-url) following a rate profile, streaming "
        "every answer; report per profile point the achieved vs target rate, request and output throughput, "
        "TTFT/TPOT/ITL/E2E percentiles and goodput against --slo. Every request's record is written as it "
        "completes. By default: synthetic prompts (--prompt-len) with a forced output length.",
        epilog=_LOAD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_flags(p, skip=("--warmup", "--repeats", "--prompt-lens", "--batch-sizes", "--batch-size"))
    p.add_argument("--profile", default="synchronous", help="rate profile, see below (default synchronous)")
    p.add_argument("--max-requests", type=int, help="requests per profile point")
    p.add_argument("--duration", help="time per profile point, e.g. 30s, 5m (with --max-requests: whichever first)")
    p.add_argument(
        "--warmup", dest="window_warmup", help="left out of the window at the start: a share (10%%) or seconds (5s)"
    )
    p.add_argument("--cooldown", help="left out of the window at the end: a share (10%%) or seconds (5s)")
    p.add_argument("--slo", help="goodput SLOs, e.g. ttft=200ms,tpot=50ms,e2e=2s")
    p.add_argument("--max-errors", type=int, help="stop the run once this many requests have failed")
    p.add_argument("--sweep-points", type=int, default=6, help="points of a sweep, ends included (default 6)")
    p.add_argument("--max-concurrency", type=int, default=64, help="requests in flight for throughput (default 64)")


def _cmd_load(args: argparse.Namespace) -> int:
    from infermeter.api import load
    from infermeter.cli import config_from_args, emit
    from infermeter.metrics.goodput import parse_slo
    from infermeter.report.console_load import render_load
    from infermeter.scenarios.load import LoadOptions
    from infermeter.scenarios.soak import parse_duration

    cfg = config_from_args(args, {"backend": "openai", "workload": {"kind": "synthetic"}})
    opts = LoadOptions(
        profile=args.profile,
        max_requests=args.max_requests,
        duration_s=parse_duration(args.duration) if args.duration else None,
        warmup=args.window_warmup,
        cooldown=args.cooldown,
        slo=parse_slo(args.slo) if args.slo else {},
        max_errors=args.max_errors,
        sweep_points=args.sweep_points,
        max_concurrency=args.max_concurrency,
        seed=cfg.seed,
    )
    report = load(cfg, opts, progress=not (args.quiet or args.json))
    emit(args, report, render_load)
    return EXIT_PARTIAL if report.data["status"] == "partial" else 0


def add_parsers(sub: Any) -> dict[str, Any]:
    """Register ``load`` and ``serve-null``; return their handlers."""
    _add_load(sub)
    _add_serve_null(sub)
    return {"load": _cmd_load, "serve-null": _cmd_serve_null}
