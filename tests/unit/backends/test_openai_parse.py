"""SSE parsing, token spreading and redaction of the OpenAI backend, on hand-made bytes."""

from __future__ import annotations

import json

from infermeter.backends.openai import OpenAIClient
from infermeter.backends.sse import Parsed, parse_stream, spread, token_times
from infermeter.config import ServerConfig


def _ev(text: str, chat: bool = True, **kw: object) -> bytes:
    choice = {"index": 0, "delta": {"content": text}} if chat else {"index": 0, "text": text}
    choice.update(kw)
    return b"data: " + json.dumps({"choices": [choice]}).encode() + b"\n\n"


def test_events_split_across_reads_get_the_time_of_their_last_byte():
    whole = _ev("a") + _ev("b") + b'data: {"choices": [], "usage": {"completion_tokens": 2}}\n\ndata: [DONE]\n\n'
    cut = len(_ev("a")) + 3
    blobs = [whole[:5], whole[5:cut], whole[cut:]]
    p = parse_stream(blobs, [1.0, 2.0, 3.0], chat=True)
    assert p.texts == ["a", "b"] and p.done and p.error is None
    assert p.times == [2.0, 3.0]  # "a" completes in the second read, "b" in the third
    assert p.usage == {"completion_tokens": 2}


def test_crlf_comments_and_role_chunks_are_not_tokens():
    raw = b": ping\r\n\r\n" + b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\r\n\r\n'
    raw += _ev("x").replace(b"\n\n", b"\r\n\r\n") + b"data: [DONE]\r\n\r\n"
    p = parse_stream([raw], [5.0], chat=True)
    assert p.texts == ["x"] and p.done


def test_malformed_and_server_error_events():
    p = parse_stream([_ev("a") + b"data: {broken\n\n"], [1.0], chat=True)
    assert p.error.startswith("malformed SSE: {broken")
    p = parse_stream([b'data: {"error": {"message": "out of KV cache"}}\n\n'], [1.0], chat=False)
    assert p.error == "server error: out of KV cache"


def test_explicit_per_chunk_counts_win():
    raw = _ev("ab", chat=False, logprobs={"tokens": ["a", "b"]}) + _ev("c", chat=False, token_ids=[7])
    p = parse_stream([raw, b"data: [DONE]\n\n"], [1.0, 2.0], chat=False)
    times, counts, source = token_times(p, None, None)
    assert counts == [2, 1] and times == [1.0, 1.0, 1.0] and source == "chunks"


def test_usage_spread_over_chunks_by_weight():
    assert spread(6, [1, 1, 1]) == [2, 2, 2]
    assert spread(5, [1, 3, 1]) == [1, 3, 1]
    assert spread(2, [1, 1, 1, 1]) == [0, 1, 0, 1]  # fewer tokens than chunks: the last token on the last chunk
    assert sum(spread(97, [3, 1, 4, 1, 5])) == 97
    p = Parsed(times=[1.0, 2.0], texts=["one two three", "four"], counts=[None, None], done=True)
    times, counts, source = token_times(p, 4, lambda texts: [len(t.split()) for t in texts])
    assert counts == [3, 1] and times == [1.0, 1.0, 1.0, 2.0] and source == "usage"


def test_credentials_are_redacted(monkeypatch):
    monkeypatch.setenv("SECRET_KEY_VAR", "sk-very-secret-123")
    monkeypatch.setenv("HDR_TOKEN", "tok-abcdef")
    c = OpenAIClient(
        ServerConfig(base_url="http://127.0.0.1:1", api_key_env="SECRET_KEY_VAR", headers={"X-Token": "$HDR_TOKEN"}),
        model="m",
    )
    assert c.headers["Authorization"] == "Bearer sk-very-secret-123" and c.headers["X-Token"] == "tok-abcdef"
    assert c.redact("bad key 'sk-very-secret-123' and tok-abcdef") == "bad key '***' and ***"
