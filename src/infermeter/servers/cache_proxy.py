"""A caching proxy in front of an OpenAI-compatible server (``infermeter proxy``).

``/v1/chat/completions`` and ``/v1/completions`` go through a :class:`ResponseCache`: a deterministic
request (temperature 0, or a fixed ``seed``) seen before is answered from the cache without contacting
the upstream, byte for byte as the upstream sent it (a cached stream is replayed chunk by chunk, at
once: a hit costs a lookup, not a generation). Everything else is forwarded and, when it succeeded
(HTTP 200, a stream that reached ``[DONE]``), stored. ``/v1/models`` is passed through.

The key covers the request body (every generation parameter), the endpoint, the delivery format
(stream or not, ``stream_options``) and a hash of the credentials: a client can only get a cached
answer with the same key the upstream accepted for it. The API key is forwarded, never stored,
logged or reported. ``/metrics`` (Prometheus text) and ``/stats`` (JSON) show hits, misses,
evictions, the cache's memory and hit/miss latency.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web

from infermeter.core.redact import SECRET_NAME
from infermeter.optimize.response_cache import ResponseCache

READY = "infermeter proxy listening on "
ENDPOINTS = ("/v1/chat/completions", "/v1/completions")
# Hop-by-hop and length headers are the proxy's own business on each side.
_SKIP_HEADERS = {"host", "content-length", "connection", "transfer-encoding", "keep-alive", "accept-encoding"}


MAX_KEPT_BYTES = 32 * 2**20  # a longer answer is relayed but not kept (an endless stream must not fill memory)


def _auth_hash(request: web.Request) -> str | None:
    """A hash of every credential the request carries: each credential-named header and the query string.

    Upstreams authenticate by ``Authorization``, ``api-key``, ``X-Api-Key``, cookies or a ``?key=``:
    a request without the right one must never be answered with a cached answer of one that had it.
    """
    creds = sorted((k.lower(), v) for k, v in request.headers.items() if SECRET_NAME.search(k))
    if request.query_string:
        creds.append(("?", request.query_string))
    return hashlib.sha256(json.dumps(creds).encode()).hexdigest() if creds else None


class CachingProxy:
    """The aiohttp application; ``cache`` may be None (a plain forwarding proxy, to measure its overhead)."""

    def __init__(self, upstream: str, cache: ResponseCache | None, *, timeout_s: float = 600.0, log: bool = True):
        self.upstream = upstream.rstrip("/").removesuffix("/v1")
        self.cache, self.log = cache, log
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=timeout_s)
        self.session: aiohttp.ClientSession | None = None
        self.upstream_errors = 0
        self.forwarded = 0

    def app(self) -> web.Application:
        """Routes: the two completion endpoints, models passthrough, metrics, stats, health."""
        app = web.Application(client_max_size=64 * 2**20)
        for path in ENDPOINTS:
            app.router.add_post(path, partial(self.complete, path=path))
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/stats", self.stats)
        app.router.add_get("/health", self.health)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, app: web.Application) -> None:
        self.session = aiohttp.ClientSession(timeout=self.timeout, auto_decompress=False)

    async def _close(self, app: web.Application) -> None:
        if self.session:
            await self.session.close()

    def _headers(self, request: web.Request) -> dict[str, str]:
        return {k: v for k, v in request.headers.items() if k.lower() not in _SKIP_HEADERS}

    def _say(self, request: web.Request, status: int, how: str, t0: float) -> None:
        if self.log:  # method, path, status: never headers (they carry the API key)
            ms = 1000 * (time.perf_counter() - t0)
            print(f"{request.method} {request.path} {status} {how} {ms:.1f} ms", file=sys.stderr, flush=True)

    async def health(self, request: web.Request) -> web.Response:
        """Liveness: the proxy answers (whatever the upstream does)."""
        return web.Response(text="ok")

    async def models(self, request: web.Request) -> web.Response:
        """Passthrough of the upstream's model list."""
        assert self.session is not None
        try:
            async with self.session.get(self.upstream + "/v1/models", headers=self._headers(request)) as up:
                body = await up.read()
                return web.Response(status=up.status, body=body, content_type=up.content_type)
        except (TimeoutError, aiohttp.ClientError) as err:
            self.upstream_errors += 1
            return web.json_response({"error": {"message": f"upstream unreachable: {type(err).__name__}"}}, status=502)

    async def complete(self, request: web.Request, path: str) -> web.StreamResponse:
        """Serve from the cache, or forward (streaming or not) and store a complete success."""
        t0 = time.perf_counter()
        raw = await request.read()
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            return web.json_response({"error": {"message": "request body must be a JSON object"}}, status=400)
        stream = bool(body.get("stream"))
        key = None
        if self.cache is not None:
            key = self.cache.key(
                {**body, "_endpoint": path, "_stream": stream, "_stream_options": body.get("stream_options"),
                 "_auth": _auth_hash(request)}
            )  # fmt: skip
            hit = self.cache.get(key)
            if hit is not None:
                response = await self._replay(request, hit)
                self.cache.observe(True, time.perf_counter() - t0)
                self._say(request, hit[0], "hit", t0)
                return response
        response, chunks = await self._forward(request, path, raw, stream)
        done = chunks is not None and response.status == 200
        if chunks is not None and done and stream:
            done = b"[DONE]" in b"".join(chunks[-2:])  # a stream cut short is not a response
        if self.cache is not None and key is not None and chunks is not None and done:
            ctype = response.headers.get("Content-Type", "application/json")
            self.cache.put(key, (response.status, ctype, tuple(chunks)), size=sum(map(len, chunks)) + len(ctype))
            self.cache.observe(False, time.perf_counter() - t0)
        self._say(request, response.status, "miss" if key else "bypass", t0)
        return response

    async def _replay(self, request: web.Request, hit: tuple[int, str, tuple[bytes, ...]]) -> web.StreamResponse:
        status, ctype, chunks = hit
        resp = web.StreamResponse(status=status, headers={"Content-Type": ctype, "X-Infermeter-Cache": "hit"})
        await resp.prepare(request)
        for chunk in chunks:
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    async def _forward(
        self, request: web.Request, path: str, raw: bytes, stream: bool
    ) -> tuple[web.StreamResponse, list[bytes] | None]:
        """Send upstream; relay the answer as it arrives. Returns the response and its chunks (None: broken)."""
        assert self.session is not None
        self.forwarded += 1
        chunks: list[bytes] = []
        resp: web.StreamResponse | None = None
        try:
            async with self.session.post(self.upstream + path, data=raw, headers=self._headers(request)) as up:
                ctype = up.headers.get("Content-Type", "application/json")
                headers = {"Content-Type": ctype, "X-Infermeter-Cache": "miss"}
                resp = web.StreamResponse(status=up.status, headers=headers)
                await resp.prepare(request)
                kept = 0
                async for chunk in up.content.iter_any():
                    kept += len(chunk)
                    if kept <= MAX_KEPT_BYTES:
                        chunks.append(chunk)
                    await resp.write(chunk)
            await resp.write_eof()
            return resp, (chunks if kept <= MAX_KEPT_BYTES else None)
        except (TimeoutError, aiohttp.ClientError) as err:
            self.upstream_errors += 1
            if resp is None:  # nothing sent yet: a clean 502
                msg = {"error": {"message": f"upstream unreachable: {type(err).__name__}"}}
                return web.json_response(msg, status=502), None
            return resp, None  # mid-stream: the client sees the cut, as it would without the proxy

    def _stats(self) -> dict[str, Any]:
        return {
            "upstream": self.upstream,
            "forwarded": self.forwarded,
            "upstream_errors": self.upstream_errors,
            "cache": self.cache.stats().to_dict() if self.cache is not None else None,
        }

    async def stats(self, request: web.Request) -> web.Response:
        """Counters as JSON (hit/miss latency summaries included)."""
        return web.json_response(self._stats())

    async def metrics(self, request: web.Request) -> web.Response:
        """Counters in the Prometheus text format."""
        lines = [
            f"infermeter_proxy_forwarded_total {self.forwarded}",
            f"infermeter_proxy_upstream_errors_total {self.upstream_errors}",
        ]
        if self.cache is not None:
            s = self.cache.stats()
            for name in ("hits", "misses", "uncacheable", "evictions", "rejected"):
                lines.append(f"infermeter_proxy_cache_{name}_total {getattr(s, name)}")
            lines += [
                f"infermeter_proxy_cache_entries {s.entries}",
                f"infermeter_proxy_cache_bytes {s.bytes}",
                f"infermeter_proxy_cache_hit_seconds_sum {sum(s.hit_latency_s)}",
                f"infermeter_proxy_cache_miss_seconds_sum {sum(s.miss_latency_s)}",
            ]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


def serve_proxy(upstream: str, cache: ResponseCache | None, host: str = "127.0.0.1", port: int = 8002) -> None:
    """Run the proxy until interrupted; prints a ready line with the URL on stderr."""
    proxy = CachingProxy(upstream, cache)

    async def main() -> None:
        runner = web.AppRunner(proxy.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        print(f"{READY}http://{host}:{bound} -> {proxy.upstream}", file=sys.stderr, flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())
