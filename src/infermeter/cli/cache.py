"""``infermeter proxy``: a caching proxy in front of an OpenAI-compatible server ."""

from __future__ import annotations

import argparse
import re
from typing import Any

from infermeter.core.limits import port
from infermeter.errors import InfermeterError
from infermeter.optimize.response_cache import ResponseCache
from infermeter.servers.cache_proxy import serve_proxy

_PROXY_EPILOG = """examples:
  infermeter proxy --upstream http://127.0.0.1:8000 --port 8002 --cache lru:1000,256MB
  curl -s localhost:8002/metrics        # hits, misses, evictions, cache bytes
  infermeter load --base-url http://127.0.0.1:8002 --repeat-ratio 0.3 ...   # measure it honestly
only deterministic requests are cached (temperature 0, or a fixed seed); the Authorization header is
forwarded and never logged; a hit needs the same credentials as the request that filled it.
"""


def _add_proxy(sub: Any) -> None:
    p = sub.add_parser(
        "proxy",
        help="a response-caching proxy in front of an OpenAI-compatible server",
        description="Forward /v1/chat/completions and /v1/completions to --upstream (streaming and not), "
        "answering repeated deterministic requests from an LRU cache (cached streams are replayed); "
        "/v1/models passes through; /metrics and /stats show hits, misses and the cache's memory.",
        epilog=_PROXY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--upstream", required=True, help="the server's base URL, e.g. http://127.0.0.1:8000")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=8002, help="port (default 8002; 0: any free port)")
    p.add_argument(
        "--cache",
        default="lru:1024,256MB",
        help="lru:ENTRIES | lru:BYTES (64MB) | lru:ENTRIES,BYTES | none (default lru:1024,256MB)",
    )
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")


def _cmd_proxy(args: argparse.Namespace) -> int:
    if not re.match(r"^https?://[^/\s]+", args.upstream):
        raise InfermeterError(f"--upstream must start with http:// or https:// and name a host, got {args.upstream!r}")
    cache = ResponseCache.from_spec(args.cache)
    serve_proxy(args.upstream, cache, args.host, args.port)
    return 0


def add_parsers(sub: Any) -> dict[str, Any]:
    """Register ``proxy``; return its handler."""
    _add_proxy(sub)
    return {"proxy": _cmd_proxy}
