"""A hostile OpenAI-compatible server for tests: one raw asyncio HTTP/1.1 server, a fault per URL prefix.

``FaultServer().url(mode)`` is a base URL (``http://127.0.0.1:PORT/m/MODE``) whose ``/v1/models``
and ``/v1/chat/completions`` misbehave as ``mode`` says: echo the Authorization header into errors,
stream forever, drip one byte at a time, break the chunked encoding, lie in ``usage``, answer HTML or
terminal escape codes, ... The server is written on raw sockets (not aiohttp) so that it can send what
no well-behaved framework would. It runs on a background thread; every connection is closed after
one answer (``Connection: close``).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable

# A 164-character key, as long as the one that leaked in part through the 120-character cut.
KEY = "sk-hostile-" + "".join(f"{i:02x}" for i in range(76)) + "END"
TOKENS = 8
ESCAPES = "\x1b[2J\x1b[H\x1b]52;c;cHduZWQ=\x07\x1b[31mred\x1b[0m"


def _event(obj: object) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _delta(text: str) -> bytes:
    return _event({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})


def _usage(n: object) -> bytes:
    return _event({"choices": [], "usage": {"prompt_tokens": 8, "completion_tokens": n}})


DONE = b"data: [DONE]\n\n"


class Conn:
    """One request: what was asked, and helpers to answer it."""

    def __init__(self, writer: asyncio.StreamWriter, path: str, headers: dict[str, str], body: bytes) -> None:
        self.w, self.path, self.headers, self.body = writer, path, headers, body

    async def head(self, status: int, ctype: str, extra: str = "") -> None:
        """Status line and headers (the body runs until the connection closes, unless ``extra`` says)."""
        self.w.write(f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nConnection: close\r\n{extra}\r\n".encode())
        await self.w.drain()

    async def answer(self, status: int, body: bytes | str, ctype: str = "application/json") -> None:
        """A complete response with a Content-Length."""
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        await self.head(status, ctype, f"Content-Length: {len(data)}\r\n")
        self.w.write(data)
        await self.w.drain()

    async def error(self, status: int, message: str) -> None:
        """An OpenAI-style JSON error."""
        await self.answer(status, json.dumps({"error": {"message": message}}))

    async def stream(self, *events: bytes) -> None:
        """A 200 event stream made of ``events``."""
        await self.head(200, "text/event-stream")
        for e in events:
            self.w.write(e)
            await self.w.drain()

    @property
    def auth(self) -> str:
        """The Authorization header as received."""
        return self.headers.get("authorization", "")


def _tokens(n: int = TOKENS, text: str = "tok ") -> list[bytes]:
    return [_delta(text) for _ in range(n)]


async def _ok(c: Conn) -> None:
    await c.stream(*_tokens(), _usage(TOKENS), DONE)


async def _endless(c: Conn) -> None:
    await c.head(200, "text/event-stream")
    while True:
        c.w.write(_delta("tok ") * 64)
        await c.w.drain()
        await asyncio.sleep(0.001)


async def _drip(c: Conn) -> None:
    await c.head(200, "text/event-stream")
    data = _delta("tok ") * 1000
    for b in data:
        c.w.write(bytes([b]))
        await c.w.drain()
        await asyncio.sleep(0.3)


async def _bad_chunking(c: Conn) -> None:
    await c.head(200, "text/event-stream", "Transfer-Encoding: chunked\r\n")
    good = _delta("tok ")
    c.w.write(f"{len(good):x}\r\n".encode() + good + b"\r\n")
    c.w.write(b"zz-not-hex\r\n" + good + b"\r\n")  # an invalid chunk size
    await c.w.drain()
    await asyncio.sleep(30)


async def _chunk_short(c: Conn) -> None:
    await c.head(200, "text/event-stream", "Transfer-Encoding: chunked\r\n")
    good = _delta("tok ")
    c.w.write(f"{len(good) + 500:x}\r\n".encode() + good)  # promises 500 more bytes, never sends them
    await c.w.drain()
    await asyncio.sleep(30)


async def _huge_error(c: Conn) -> None:
    await c.head(500, "text/plain", f"Content-Length: {100 * 2**20}\r\n")
    block = b"x" * 65536
    for _ in range(1600):  # 100 MB, unless the client stops reading first
        c.w.write(block)
        await c.w.drain()


async def _huge_line(c: Conn) -> None:
    await c.head(200, "text/event-stream")
    c.w.write(b"data: ")
    block = b"y" * 65536
    for _ in range(1000):  # 64 MB without a newline
        c.w.write(block)
        await c.w.drain()


async def _stall(c: Conn) -> None:
    await c.stream(*_tokens(2))
    await asyncio.sleep(60)


async def _no_headers(c: Conn) -> None:
    await asyncio.sleep(60)


async def _close_mid(c: Conn) -> None:
    await c.stream(*_tokens(3))


async def _echo_key_after_padding(c: Conn) -> None:
    # The key starts before a 120-character cut and ends after it.
    await c.error(500, "p" * 100 + " bad key: " + c.auth + " please retry")


def _status(status: int, body: str, ctype: str = "application/json") -> Callable[[Conn], Awaitable[None]]:
    async def f(c: Conn) -> None:
        await c.answer(status, body, ctype)

    return f


def _events(*events: bytes) -> Callable[[Conn], Awaitable[None]]:
    async def f(c: Conn) -> None:
        await c.stream(*events)

    return f


def _err(status: int, message: str) -> Callable[[Conn], Awaitable[None]]:
    async def f(c: Conn) -> None:
        await c.error(status, message)

    return f


def _echo(status: int, what: Callable[[Conn], str]) -> Callable[[Conn], Awaitable[None]]:
    async def f(c: Conn) -> None:
        await c.error(status, what(c))

    return f


HTML = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"

# mode -> completion handler
COMPLETIONS: dict[str, Callable[[Conn], Awaitable[None]]] = {
    "ok": _ok,
    "echo-auth-401": _echo(401, lambda c: f"invalid credentials: {c.auth}"),
    "echo-headers-403": _echo(403, lambda c: json.dumps(c.headers)),
    "key-across-cut": _echo_key_after_padding,
    "key-in-text": lambda c: c.stream(_delta(f"your key is {c.auth} "), *_tokens(3), _usage(TOKENS), DONE),
    "endless-stream": _endless,
    "byte-drip": _drip,
    "bad-chunking": _bad_chunking,
    "short-chunk": _chunk_short,
    "huge-error-body": _huge_error,
    "huge-line": _huge_line,
    "huge-usage": _events(*_tokens(), _usage(5_000_000), DONE),
    "negative-usage": _events(*_tokens(), _usage(-3), DONE),
    "string-usage": _events(*_tokens(), _usage("lots"), DONE),
    "html-error": _status(502, HTML, "text/html"),
    "html-200": _status(200, HTML, "text/html"),
    "markup-error": _err(500, "[/] [bold red]boom[/bold red] [link=http://x]y[/link]"),
    "escape-error": _err(500, f"fail {ESCAPES} end"),
    "escape-in-text": _events(_delta(ESCAPES), *_tokens(), _usage(TOKENS + 6), DONE),
    "non-stream-200": _status(200, json.dumps({"choices": [{"message": {"content": "hi"}}], "usage": {}})),
    "empty-200": _status(200, "", "text/event-stream"),
    "malformed-event": _events(*_tokens(2), b"data: {broken json\n\n", DONE),
    "close-mid-stream": _close_mid,
    "stall": _stall,
    "no-headers": _no_headers,
    "http429": _err(429, "slow down"),
    "http500-plain": _status(500, "Internal Server Error", "text/plain"),
    "deep-json-error": _status(500, "[" * 100_000 + "]" * 100_000),
    "surrogate-error": _status(500, '{"error": {"message": "bad \\ud800 char"}}'),
    "invalid-utf8": _events(b'data: {"choices":[{"index":0,"delta":{"content":"\xff\xfe"}}]}\n\n', *_tokens(), DONE),
    "null-delta": _events(*[_event({"choices": [{"index": 0, "delta": {"content": None}}]})] * 3, DONE),
}

# mode -> /v1/models handler (default: one model)
MODELS: dict[str, Callable[[Conn], Awaitable[None]]] = {
    "models-echo-401": _echo(401, lambda c: f"who are you? {c.auth}"),
    "models-html": _status(200, HTML, "text/html"),
    "models-empty": _status(200, json.dumps({"data": []})),
    "models-list": _status(200, json.dumps([1, 2, 3])),
    "models-escape": _err(500, f"down {ESCAPES}"),
}


async def _default_models(c: Conn) -> None:
    await c.answer(200, json.dumps({"object": "list", "data": [{"id": "fault-model", "object": "model"}]}))


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        _method, path, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        n = int(headers.get("content-length") or 0)
        body = await reader.readexactly(n) if n else b""
        parts = path.split("/", 3)  # "", "m", MODE, "v1/..."
        mode, rest = (parts[2], "/" + parts[3]) if len(parts) == 4 and parts[1] == "m" else ("ok", path)
        conn = Conn(writer, rest, headers, body)
        if rest.endswith("/models"):
            await MODELS.get(mode, _default_models)(conn)
        elif mode in COMPLETIONS:
            await COMPLETIONS[mode](conn)
        else:
            await _ok(conn)
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        pass
    except asyncio.CancelledError:
        pass
    finally:
        writer.close()


MODES = sorted(set(COMPLETIONS) | set(MODELS))


class FaultServer:
    """The server on a background thread: ``url(mode)``, ``close()``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="fault-server", daemon=True)
        self.thread.start()
        self._ready.wait(30)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(_handle, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    def url(self, mode: str) -> str:
        """The base URL that behaves as ``mode``."""
        return f"http://127.0.0.1:{self.port}/m/{mode}"

    async def _shutdown(self) -> None:
        # Handlers still streaming (endless, drip) end here, on the running loop: left pending, they would be
        # collected later on a closed loop, which pytest reports as an unraisable exception in another test.
        self.server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        """Stop the server, end its open connections, stop its thread."""
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
