"""Every failure a server can cause becomes a per-request reason, never an exception (real loopback servers)."""

from __future__ import annotations

import asyncio

import pytest

from infermeter.backends.base import Prompt
from infermeter.backends.openai import OpenAIClient
from infermeter.config import GenerationParams, ServerConfig
from infermeter.servers.null import NullServerProcess, free_port

PARAMS = GenerationParams(max_new_tokens=40)


def _requests(url: str, n: int = 1, read_timeout_s: float = 5.0, params: GenerationParams = PARAMS) -> list:
    async def go() -> list:
        c = OpenAIClient(ServerConfig(base_url=url, read_timeout_s=read_timeout_s), model="null-model")
        await c.open()
        try:
            out = []
            for _ in range(n):
                out.append(await c.request(Prompt(ids=[1], text="hi"), params, True))
            return out
        finally:
            await c.close()

    return asyncio.run(go())


def test_connection_refused():
    (g,) = _requests(f"http://127.0.0.1:{free_port()}")
    assert g.error == "connection refused" and g.token_times == []


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("http500", "HTTP 500: internal error (null server fault)"),
        ("http429", "HTTP 429: rate limited (null server fault)"),
        ("malformed", 'malformed SSE: {"choices": [{"delta": {"content": " broken"'),
        ("drop-mid-stream", "stream ended early"),
    ],
)
def test_server_faults_give_reasons_and_the_next_request_still_works(fault, reason):
    with NullServerProcess("--tokens", "40", "--pace-ms", "1", "--fault", fault, "--fault-every", "2") as srv:
        ok1, bad, ok2 = _requests(srv.url, 3)
    assert ok1.error is None and len(ok1.token_times) == 40
    assert bad.error == reason
    assert ok2.error is None
    if fault in ("malformed", "drop-mid-stream"):
        assert 0 < len(bad.token_times) < 40  # what arrived before the fault is kept


def test_read_timeout():
    with NullServerProcess("--tokens", "40", "--pace-ms", "1", "--fault", "stall") as srv:
        (g,) = _requests(srv.url, read_timeout_s=0.5)
    assert g.error == "read timeout after 0.5 s"
    assert len(g.token_times) == 2


def test_server_killed_mid_stream():
    # The crash is triggered by the event (the server's 50th token chunk), not by a timer.
    with NullServerProcess("--tokens", "200", "--pace-ms", "10", "--die-after-chunks", "50") as srv:
        (g,) = _requests(srv.url, params=GenerationParams(max_new_tokens=200))
        assert srv.proc is not None and srv.proc.wait(60) == 70  # gone, its listening socket with it
        (after,) = _requests(srv.url)
    assert g.error == "stream ended early" and 10 < len(g.token_times) <= 50
    assert after.error == "connection refused"


def test_http_error_echoing_the_key_is_redacted(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-0123456789")
    with NullServerProcess("--require-key-env", "NULL_KEY", env={"NULL_KEY": "sk-right-key"}) as srv:
        (g,) = _requests(srv.url)
    assert g.error.startswith("HTTP 401: Incorrect API key provided")
    assert "sk-wrong-key" not in g.error and "***" in g.error
