"""The null server against a real client on loopback: pacing honoured, token counts exact."""

from __future__ import annotations

import asyncio

import pytest

from infermeter.backends.base import Prompt
from infermeter.backends.openai import OpenAIClient
from infermeter.config import GenerationParams, ServerConfig
from infermeter.servers.null import NullServerProcess


def _one(url: str, api: str = "chat", max_tokens: int = 64) -> object:
    async def go() -> object:
        c = OpenAIClient(ServerConfig(base_url=url, api=api), model="null-model")
        await c.open()
        try:
            return await c.request(
                Prompt(ids=[1], text="hello there"), GenerationParams(max_new_tokens=max_tokens), True
            )
        finally:
            await c.close()

    return asyncio.run(go())


@pytest.fixture(scope="module")
def paced():
    with NullServerProcess("--tokens", "30", "--pace-ms", "10", "--ttft-ms", "40") as srv:
        yield srv


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_pace_and_ttft_are_honoured(paced, api):
    g = _one(paced.url, api)
    assert g.error is None
    assert len(g.token_times) == 30 and g.extra["usage"]["completion_tokens"] == 30
    # Lower bounds only (a busy machine delays, it never hurries): on the server's absolute schedule
    # token k leaves no sooner than ttft + k x pace after the request. How close to the schedule it
    # lands is measured in benchmarks, not asserted.
    assert all(t - g.t_send >= 0.040 + 0.010 * k - 0.002 for k, t in enumerate(g.token_times)), g.token_times


def test_max_tokens_caps_the_answer(paced):
    g = _one(paced.url, "chat", max_tokens=7)
    assert len(g.token_times) == 7 and g.extra["usage"]["completion_tokens"] == 7
    assert g.extra["tokens_per_chunk"] == [1] * 7


def test_multi_token_chunks_share_their_arrival_time():
    with NullServerProcess("--tokens", "12", "--pace-ms", "5", "--chunk-tokens", "4") as srv:
        g = _one(srv.url, "completions")
    assert g.error is None and len(g.token_times) == 12
    assert g.extra["tokens_per_chunk"] == [4, 4, 4]
    t = g.token_times
    assert t[0] == t[3] and t[4] == t[7] and t[8] == t[11] and t[4] > t[3]
