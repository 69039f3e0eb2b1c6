"""The bulk SSE parser gives exactly what the event-by-event parser gives, however the bytes are cut."""

from __future__ import annotations

import json
import random

import pytest

from infermeter.backends.sse import _parse_bulk, _parse_events, parse_stream


def _data(obj: object) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _chat(text: str, **kw: object) -> bytes:
    return _data({"choices": [{"index": 0, "delta": {"content": text}, **kw}]})


USAGE = _data({"choices": [], "usage": {"completion_tokens": 3}})
DONE = b"data: [DONE]\n\n"
STREAMS = {
    "chat": _chat("", role="assistant") + _chat("a") + _chat("b c") + _chat("", finish_reason="length") + USAGE + DONE,
    "completions": b"".join(_data({"choices": [{"text": t}]}) for t in ("x", "y", "z")) + USAGE + DONE,
    "counts": _data({"choices": [{"text": "ab", "logprobs": {"tokens": ["a", "b"]}}]}) + DONE,
    "token ids": _chat("ab", token_ids=[1, 2]) + _chat("c", token_ids=[3]) + DONE,
    "reasoning": _data({"choices": [{"delta": {"reasoning_content": "hm"}}]}) + _chat("ok") + DONE,
    "crlf": (_chat("a") + DONE).replace(b"\n", b"\r\n"),
    "comment": b": ping\n\n" + _chat("a") + DONE,
    "multi-line data": b'data: {"choices":\ndata: [{"delta": {"content": "a"}}]}\n\n' + DONE,
    "malformed": _chat("a") + b'data: {"choices": [\n\n' + _chat("b") + DONE,
    "server error": _chat("a") + _data({"error": {"message": "boom"}}) + _chat("b") + DONE,
    "not an object": _chat("a") + b"data: [1, 2]\n\n" + DONE,
    "two values": _chat("a") + b'data: {"a": 1}, {"b": 2}\n\n' + DONE,
    "done mid-stream": _chat("a") + DONE + _chat("b"),
    "no done": _chat("a") + _chat("b"),
    "unterminated last event": _chat("a") + b"data: [DONE]",
    "empty data line": _chat("a") + b"data: \n\n" + DONE,
    "nothing": b"",
    "null extras": _data({"choices": [{"delta": {"content": "a"}, "logprobs": None, "token_ids": None}]}) + DONE,
    "vllm chunk": _data(
        {
            "id": "c",
            "choices": [
                {"index": 0, "delta": {"content": "a"}, "logprobs": None, "finish_reason": None, "stop_reason": None}
            ],
        }
    )
    + DONE,
    "key-like text": _chat('"token_ids": [1]') + _chat('"error": 1') + DONE,
    "two choices": _data({"choices": [{"delta": {"content": "a"}}, {"delta": {"content": "b"}}]}) + DONE,
    "content not text": _chat("a") + _data({"choices": [{"delta": {"content": 5}, "text": 5}]}) + DONE,
    "delta not an object": _data({"choices": [{"delta": "x", "text": ["x"]}]}) + DONE,
    "choice not an object": _data({"choices": ["x"]}) + DONE,
    "empty choices, null usage": _data({"choices": [], "usage": None}) + _chat("a") + DONE,
}


@pytest.mark.parametrize("name", sorted(STREAMS))
@pytest.mark.parametrize("chat", [True, False])
def test_bulk_equals_event_by_event_at_every_cut(name: str, chat: bool) -> None:
    raw = STREAMS[name]
    rng = random.Random(name)
    cuts = [[], [len(raw) // 2], sorted(rng.sample(range(1, max(len(raw), 2)), min(5, max(len(raw) - 1, 1))))]
    cuts.append([i for i in range(1, len(raw))])  # one byte per read
    for cut in cuts:
        bounds = [0, *cut, len(raw)]
        blobs = [raw[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a] or [b""]
        times = [float(i) for i in range(len(blobs))]
        assert _outcome(parse_stream, blobs, times, chat) == _outcome(_parse_events, blobs, times, chat), (name, cut)


def _outcome(fn, *args: object) -> object:  # noqa: ANN001
    """The parse, or the exception type it raised (hostile shapes must fail the same way on both paths)."""
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001
        return type(err)


def test_the_common_stream_takes_the_bulk_path() -> None:
    raw = STREAMS["chat"]
    assert _parse_bulk([raw[:40], raw[40:]], [1.0, 2.0], True) is not None
    for odd in ("crlf", "malformed", "server error", "comment"):
        assert _parse_bulk([STREAMS[odd]], [1.0], True) is None, odd
