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
    gaps = [b - a for a, b in zip(g.token_times, g.token_times[1:], strict=False)]
    tpot = (g.token_times[-1] - g.token_times[0]) / 29
    assert 0.0095 < tpot < 0.0125, tpot  # an absolute schedule: no drift over 29 gaps
    assert sorted(gaps)[len(gaps) // 2] == pytest.approx(0.010, abs=0.003)
    assert 0.038 < g.token_times[0] - g.t_send < 0.080


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
