"""A null OpenAI-compatible streaming server, for calibration and tests.

It does no inference: each request gets ``tokens`` tokens (fewer when ``max_tokens`` asks for
fewer), the first after ``ttft_ms`` and the rest every ``pace_ms``, on an absolute schedule so
pacing does not drift. Each token is one common English word (one token in the usual BPE
vocabularies), so client-side retokenization agrees with the server's count. Chat and completions
both stream SSE the way vLLM does (a role chunk first, ``stream_options.include_usage`` honoured,
``data: [DONE]`` last). Since it costs almost nothing per token, whatever a client measures against
it with pace 0 is the client's own overhead.

Fault modes make every failure a client must survive reproducible: ``http500``, ``http429``,
``malformed`` (a broken JSON event after two tokens), ``drop-mid-stream`` (the connection is cut
halfway) and ``stall`` (silence after two tokens); ``fault_every=N`` applies the fault to every N-th
request only. ``require_key`` answers 401 to a request without that bearer key (echoing what it
got, as some real servers do, so tests can check that clients redact it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from infermeter.errors import InfermeterError

FAULTS = ("none", "http500", "http429", "malformed", "drop-mid-stream", "stall")
WORDS = (
    " the", " of", " and", " to", " in", " is", " for", " that", " with", " on",
    " as", " it", " by", " at", " from", " this", " be", " are", " or", " an",
)  # fmt: skip
READY = "infermeter null server listening on "
REQUEST = "infermeter null server request "  # then the request's number, with --log-requests


@dataclass
class NullOptions:
    """How the null server answers."""

    tokens: int = 128
    pace_ms: float = 10.0
    ttft_ms: float = 0.0
    chunk_tokens: int = 1
    model: str = "null-model"
    fault: str = "none"
    fault_every: int = 1
    require_key: str | None = None
    metrics: bool = True  # serve /metrics (Prometheus text, vLLM's names)
    kv_slots: int = 64  # requests that fill the pretend KV cache (kv_cache_usage_perc = running / kv_slots)
    max_model_len: int | None = None  # reported by /v1/models, as vLLM does (None: not reported)
    die_after_chunks: int = 0  # a crash on cue: the process exits abruptly after this many token chunks (0: never)
    log_requests: bool = False  # one stderr line per completion request (REQUEST + its number)

    def validate(self) -> None:
        """Refuse options that make no sense, in one line."""
        if self.fault not in FAULTS:
            raise InfermeterError(f"unknown fault {self.fault!r} (use one of {', '.join(FAULTS)})")
        if self.die_after_chunks < 0:
            raise InfermeterError("--die-after-chunks must be >= 0")
        if self.tokens < 1 or self.chunk_tokens < 1 or self.fault_every < 1 or self.kv_slots < 1:
            raise InfermeterError("--tokens, --chunk-tokens, --fault-every and --kv-slots must be >= 1")
        if self.pace_ms < 0 or self.ttft_ms < 0:
            raise InfermeterError("--pace-ms and --ttft-ms must be >= 0")


def _chunk(api: str, model: str, text: str | None, finish: str | None = None, role: bool = False) -> bytes:
    if api == "chat":
        delta: dict[str, Any] = {"role": "assistant", "content": ""} if role else {}
        if text is not None:
            delta["content"] = text
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        obj = "chat.completion.chunk"
    else:
        choice = {"index": 0, "text": text or "", "finish_reason": finish}
        obj = "text_completion"
    body = {"id": "null-0", "object": obj, "created": 0, "model": model, "choices": [choice]}
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def _prompt_tokens(body: dict[str, Any]) -> int:
    if "messages" in body:
        parts = []
        for m in body["messages"]:
            c = m.get("content")
            parts += [c] if isinstance(c, str) else [p.get("text", "") for p in c or [] if isinstance(p, dict)]
        text = " ".join(parts)
    else:
        p = body.get("prompt", "")
        if isinstance(p, list):
            return len(p)
        text = p
    return len(re.findall(r"\S+", text))


def _prompt_words(body: dict[str, Any]) -> list[str]:
    if "messages" in body:
        parts = [m.get("content") for m in body["messages"]]
        return " ".join(c if isinstance(c, str) else "" for c in parts).split()
    p = body.get("prompt", "")
    return [str(x) for x in p] if isinstance(p, list) else str(p).split()


class NullStats:
    """What ``/metrics`` reports, under vLLM's metric names: deterministic functions of the requests.

    ``num_requests_running`` is the streams in progress; the KV cache is "full" at ``kv_slots`` of
    them; the prefix cache works on blocks of 16 prompt words, as vLLM hashes blocks of tokens: a
    block whose whole prefix was seen before is a hit.
    """

    BLOCK = 16

    def __init__(self, kv_slots: int) -> None:
        self.kv_slots = kv_slots
        self.running = self.requests = self.prompt_tokens = self.generation_tokens = 0
        self.queries = self.hits = 0
        self.seen: set[int] = set()

    def begin(self, words: list[str]) -> None:
        """A request starts: count it and look its prompt blocks up in the prefix cache."""
        self.running += 1
        self.prompt_tokens += len(words)
        for j in range(len(words) // self.BLOCK):
            key = hash(tuple(words[: (j + 1) * self.BLOCK]))
            self.queries += self.BLOCK
            if key in self.seen:
                self.hits += self.BLOCK
            elif len(self.seen) < 1_000_000:
                self.seen.add(key)

    def end(self, tokens: int) -> None:
        """A request's stream ended (completed or not)."""
        self.running -= 1
        self.requests += 1
        self.generation_tokens += tokens

    def prometheus(self, model: str) -> str:
        """The text exposition format, one gauge or counter per line."""
        name = model.replace("\\", "").replace('"', "")
        lbl = f'{{model_name="{name}"}}'
        rows = [
            ("vllm:num_requests_running", "gauge", self.running),
            ("vllm:num_requests_waiting", "gauge", 0),
            ("vllm:kv_cache_usage_perc", "gauge", min(1.0, self.running / self.kv_slots)),
            ("vllm:num_preemptions_total", "counter", 0),
            ("vllm:prefix_cache_queries_total", "counter", self.queries),
            ("vllm:prefix_cache_hits_total", "counter", self.hits),
            ("vllm:prompt_tokens_total", "counter", self.prompt_tokens),
            ("vllm:generation_tokens_total", "counter", self.generation_tokens),
            ("vllm:request_success_total", "counter", self.requests),
        ]
        out = []
        for name, kind, v in rows:
            out += [f"# TYPE {name} {kind}", f"{name}{lbl} {float(v)}"]
        return "\n".join(out) + "\n"


class NullServer:
    """The aiohttp application and its per-request counter (for ``fault_every``)."""

    def __init__(self, opts: NullOptions) -> None:
        opts.validate()
        self.opts = opts
        self.count = 0
        self.chunks = 0  # token chunks served, all streams together (for die_after_chunks)
        self.stats = NullStats(opts.kv_slots)
        # Token chunks are built once: the server's own per-token cost must stay far below a client's.
        self.pieces = {api: [_chunk(api, opts.model, "".join(WORDS[(i + j) % len(WORDS)]
                                                              for j in range(opts.chunk_tokens)))
                             for i in range(len(WORDS))] for api in ("chat", "completions")}  # fmt: skip

    def app(self) -> web.Application:
        """The routes: /v1/models, /v1/chat/completions, /v1/completions, /health."""
        app = web.Application()
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/health", self.health)
        if self.opts.metrics:
            app.router.add_get("/metrics", self.metrics)
        app.router.add_post("/v1/chat/completions", lambda r: self.complete(r, "chat"))
        app.router.add_post("/v1/completions", lambda r: self.complete(r, "completions"))
        return app

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(text=self.stats.prometheus(self.opts.model), content_type="text/plain")

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def models(self, request: web.Request) -> web.Response:
        entry: dict[str, Any] = {"id": self.opts.model, "object": "model", "created": 0, "owned_by": "infermeter"}
        if self.opts.max_model_len:
            entry["max_model_len"] = self.opts.max_model_len
        data = [entry]
        return web.json_response({"object": "list", "data": data})

    def _auth_error(self, request: web.Request) -> web.Response | None:
        if self.opts.require_key is None:
            return None
        got = request.headers.get("Authorization", "")
        if got == f"Bearer {self.opts.require_key}":
            return None
        msg = f"Incorrect API key provided: {got.removeprefix('Bearer ')!r}"
        return web.json_response({"error": {"message": msg, "type": "invalid_request_error"}}, status=401)

    async def complete(self, request: web.Request, api: str) -> web.StreamResponse:
        self.count += 1
        if self.opts.log_requests:
            print(f"{REQUEST}{self.count}", file=sys.stderr, flush=True)
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": {"message": "body is not JSON"}}, status=400)
        o = self.opts
        fault = o.fault if self.count % o.fault_every == 0 else "none"
        if fault == "http500":
            return web.json_response({"error": {"message": "internal error (null server fault)"}}, status=500)
        if fault == "http429":
            return web.json_response({"error": {"message": "rate limited (null server fault)"}}, status=429)
        n = max(1, min(o.tokens, int(body.get("max_tokens") or body.get("max_completion_tokens") or o.tokens)))
        usage = {"prompt_tokens": _prompt_tokens(body), "completion_tokens": n, "total_tokens": 0}
        usage["total_tokens"] = usage["prompt_tokens"] + n
        if not body.get("stream"):
            return web.json_response(self._whole(api, n, usage))
        if not o.metrics:
            return await self._stream(request, api, n, usage, body, fault)
        self.stats.begin(_prompt_words(body))
        try:
            return await self._stream(request, api, n, usage, body, fault)
        finally:
            self.stats.end(n)

    def _whole(self, api: str, n: int, usage: dict[str, int]) -> dict[str, Any]:
        text = "".join(WORDS[i % len(WORDS)] for i in range(n))
        choice: dict[str, Any] = {"index": 0, "finish_reason": "length"}
        if api == "chat":
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        return {"id": "null-0", "object": "chat.completion" if api == "chat" else "text_completion",
                "created": 0, "model": self.opts.model, "choices": [choice], "usage": usage}  # fmt: skip

    async def _stream(
        self, request: web.Request, api: str, n: int, usage: dict[str, int], body: dict[str, Any], fault: str
    ) -> web.StreamResponse:
        o = self.opts
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        if api == "chat":
            await resp.write(_chunk(api, o.model, None, role=True))
        pieces, k = self.pieces[api], o.chunk_tokens
        start = time.perf_counter() + o.ttft_ms / 1000
        pace = o.pace_ms / 1000
        sent = 0
        for i in range((n + k - 1) // k):
            if o.pace_ms or o.ttft_ms:
                delay = start + i * k * pace - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            if sent >= 2 and fault == "malformed":
                await resp.write(b'data: {"choices": [{"delta": {"content": " broken"\n\n')
                fault = "none"
            if sent >= 2 and fault == "stall":
                await asyncio.sleep(3600)
            if sent >= n // 2 and fault == "drop-mid-stream":
                if request.transport is not None:  # None: the client has already gone
                    request.transport.abort()  # the server dies mid-answer
                return resp
            take = min(k, n - sent)
            piece = pieces[i % len(pieces)] if take == k else _chunk(api, o.model, "".join(WORDS[:take]))
            await resp.write(piece)
            sent += take
            self.chunks += 1
            if self.chunks == o.die_after_chunks:  # tests trigger a crash on this event, not on a timer
                os._exit(70)
        await resp.write(_chunk(api, o.model, "" if api == "completions" else None, finish="length"))
        if (body.get("stream_options") or {}).get("include_usage"):
            final: dict[str, Any] = {
                     "id": "null-0", "object": "chat.completion.chunk" if api == "chat" else "text_completion",
                     "created": 0, "model": o.model, "choices": [], "usage": usage}  # fmt: skip
            await resp.write(b"data: " + json.dumps(final).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


def serve(opts: NullOptions, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve until SIGINT/SIGTERM; prints one ready line with the URL on stderr."""

    async def main() -> None:
        # A stalled stream must not hold the shutdown for aiohttp's default 60 s.
        runner = web.AppRunner(NullServer(opts).app(), access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        bound = runner.addresses[0][1]  # port 0: ask the OS
        print(f"{READY}http://{host}:{bound}", file=sys.stderr, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(main())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NullServerProcess:
    """``infermeter serve-null`` in a subprocess on 127.0.0.1 (tests, benchmarks); stops on exit.

    ``url`` is the base URL; ``kill()`` ends it abruptly (SIGKILL) to simulate a dying server.
    """

    def __init__(self, *args: str, env: dict[str, str] | None = None, timeout_s: float = 30.0) -> None:
        self.args, self.env, self.timeout_s = args, env, timeout_s
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.log: list[str] = []  # the server's stderr after its ready line (last 200 lines)
        self.requests = 0  # completion requests received so far (with --log-requests)
        self.ended = False
        self._seen = threading.Condition()

    def __enter__(self) -> NullServerProcess:
        cmd = [sys.executable, "-m", "infermeter", "serve-null", "--host", "127.0.0.1", "--port", "0", *self.args]
        env = {**os.environ, **(self.env or {})}
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
        deadline = time.monotonic() + self.timeout_s
        assert self.proc.stderr is not None
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith(READY):
                self.url = line[len(READY) :].strip()
                # Keep reading its stderr so a chatty server never blocks on a full pipe.
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        self.stop()
        raise RuntimeError("the null server did not start: " + "".join(lines)[-2000:])

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        with contextlib.suppress(ValueError, OSError):
            for line in self.proc.stderr:
                if line.startswith(REQUEST):
                    with self._seen:
                        self.requests = int(line[len(REQUEST) :])
                        self._seen.notify_all()
                    continue
                self.log.append(line)
                del self.log[:-200]
        with self._seen:
            self.ended = True
            self._seen.notify_all()

    def wait_requests(self, n: int, timeout_s: float) -> bool:
        """Block until the server has received ``n`` completion requests (started with ``--log-requests``);
        False when it ended or ``timeout_s`` passed first."""
        with self._seen:
            return self._seen.wait_for(lambda: self.requests >= n or self.ended, timeout_s) and self.requests >= n

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        """SIGKILL: connections die mid-stream, later connects are refused."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def null_server(*args: str, **kwargs: Any) -> Iterator[NullServerProcess]:
    """Context manager form of :class:`NullServerProcess`."""
    with NullServerProcess(*args, **kwargs) as server:
        yield server
