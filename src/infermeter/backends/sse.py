"""Server-sent events of an OpenAI-compatible stream, parsed after the stream has ended.

The client's timed path keeps only ``(arrival time, bytes)`` per read; this module turns those into
chunks (text, explicit token counts), usage and errors, and spreads the output tokens over the
chunks' arrival times (see :func:`token_times`). Pure functions, tested on hand-made bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

_loads: Callable[[str | bytes], Any]
try:  # orjson parses SSE events ~3x faster; the standard library is the fallback
    from orjson import loads as _orjson_loads

    _loads = _orjson_loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads

__all__ = ["Parsed", "parse_stream", "spread", "spread_exact", "token_times"]


@dataclass
class Parsed:
    """What a stream said: per-chunk arrival times, texts and explicit token counts, usage, errors."""

    times: list[float] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    counts: list[int | None] = field(default_factory=list)  # tokens the chunk says it carries
    usage: dict[str, Any] | None = None
    done: bool = False  # [DONE] or a finish_reason arrived
    error: str | None = None


def _chunk_text(choice: dict[str, Any], chat: bool) -> tuple[str, int | None]:
    if chat:
        delta = choice.get("delta") or {}
        text = (delta.get("content") or "") + (delta.get("reasoning_content") or delta.get("reasoning") or "")
    else:
        text = choice.get("text") or ""
    lp = choice.get("logprobs")
    n: int | None = None
    if isinstance(lp, dict):
        toks = lp.get("content") if chat else lp.get("tokens")
        n = len(toks) if isinstance(toks, list) else None
    ids = choice.get("token_ids")
    if isinstance(ids, list):
        n = len(ids)
    return text, n


def parse_stream(blobs: list[bytes], times: list[float], chat: bool) -> Parsed:
    """Split the received bytes into SSE events; each event gets the arrival time of its last byte.

    The common stream (LF line ends, one ``data:`` line per event, every payload valid JSON) is
    parsed in bulk: one split, one ``orjson`` call for all payloads, one pass over the objects.
    Anything else (CRLF, comments, multi-line events, a malformed or error event) takes the general
    event-by-event path, which gives the same result.
    """
    fast = _parse_bulk(blobs, times, chat)
    return fast if fast is not None else _parse_events(blobs, times, chat)


def _event_times(blobs: list[bytes], times: list[float], lengths: list[int]) -> list[float]:
    """The arrival time of the blob holding each event's terminator (``lengths`` include it)."""
    if len(blobs) == 1:
        return [times[0]] * len(lengths)
    ends = list(accumulate(map(len, blobs)))
    out, i, last = [], 0, len(ends) - 1
    for pos in accumulate(lengths):  # positions are increasing: one merge walk over both lists
        while ends[i] < pos and i < last:
            i += 1
        out.append(times[i])
    return out


def _parse_bulk(blobs: list[bytes], times: list[float], chat: bool) -> Parsed | None:
    """The common stream parsed in a few C calls; None when it is not one (then parse per event)."""
    data = b"".join(blobs)
    if b"\r" in data:
        return None
    evs = data.split(b"\n\n")
    rest = evs.pop()
    # one line per event, each a data line: every newline is part of a terminator
    if rest.strip() or data.count(b"\n") != 2 * len(evs) + rest.count(b"\n"):
        return None
    if not all(e[:6] == b"data: " for e in evs):
        return None
    lengths = [len(e) + 2 for e in evs]
    stamps = _event_times(blobs, times, lengths)
    done = bool(evs) and evs[-1] == b"data: [DONE]"
    if b"data: [DONE]" in evs[:-1] or b"data: " in evs:  # [DONE] mid-stream, or an empty data line
        return None
    if done:
        evs.pop()
    try:
        objs = _loads(b"[" + b",".join([e[6:] for e in evs]) + b"]")
    except ValueError:
        return None
    if len(objs) != len(stamps) - done:  # a payload that was not one JSON value
        return None
    out = Parsed(done=done)
    return out if _collect(objs, stamps, chat, out) else None


def _collect(objs: list[Any], stamps: list[float], chat: bool, out: Parsed) -> bool:
    """Chunks, usage and the end of ``objs`` into ``out``; False where the general path must decide.

    The usual chunk (one text, no token counts, no reasoning) is read with ``in`` and subscripts
    only, no method calls; any other goes through :func:`_chunk_text`, as on the general path.
    """
    o_times, o_texts, o_counts = out.times, out.texts, out.counts
    for obj, t in zip(objs, stamps, strict=False):
        if obj.__class__ is not dict or ("error" in obj and obj["error"]):
            return False
        if "usage" in obj and obj["usage"]:
            out.usage = obj["usage"]
        for c in (obj["choices"] if "choices" in obj else None) or ():  # noqa: SIM401 - no method call
            if c.__class__ is not dict:
                return False
            n = None
            if ("logprobs" in c and c["logprobs"] is not None) or ("token_ids" in c and c["token_ids"] is not None):
                text, n = _chunk_text(c, chat)
            elif not chat:
                text = (c["text"] if "text" in c else None) or ""  # noqa: SIM401
            elif not (d := c["delta"] if "delta" in c else None):  # noqa: SIM401
                text = ""
            elif d.__class__ is not dict:
                return False
            elif "reasoning_content" in d or "reasoning" in d:
                text, n = _chunk_text(c, chat)
            else:
                text = (d["content"] if "content" in d else None) or ""  # noqa: SIM401
            if text.__class__ is not str:
                return False
            if text or n:
                o_times.append(t)
                o_texts.append(text)
                o_counts.append(n)
            if "finish_reason" in c and c["finish_reason"]:
                out.done = True
    return True


def _parse_events(blobs: list[bytes], times: list[float], chat: bool) -> Parsed:
    """The general path: events split as their bytes arrive, parsed one by one."""
    out = Parsed()
    buf = bytearray()
    for blob, t in zip(blobs, times, strict=True):
        # Only the new bytes (and the 3 before them) can complete an event: scanning the whole
        # buffer each time is quadratic, minutes for a hostile 32 MB line without a blank line.
        probe = bytes(buf[-3:]) + blob
        buf += blob
        if b"\n\n" not in probe and b"\n\r\n" not in probe:
            continue
        *events, rest = bytes(buf).replace(b"\r\n", b"\n").split(b"\n\n")
        buf = bytearray(rest)
        for ev in events:
            if _event(ev, t, out, chat):
                return out
    if buf.strip() and not out.done and out.error is None:
        _event(bytes(buf), times[-1], out, chat)  # a last event without its blank line
    return out


def _event(ev: bytes, t: float, out: Parsed, chat: bool) -> bool:
    """Parse one SSE event into ``out``; True when parsing must stop (an error)."""
    if ev.startswith(b"data: ") and b"\n" not in ev:
        data = ev[6:]  # the common case: one data line
    else:
        data = b"\n".join(line[5:].lstrip() for line in ev.split(b"\n") if line.startswith(b"data:"))
    if not data:
        return False  # comments (": ping"), event:/id:/retry: lines
    if data == b"[DONE]":
        out.done = True
        return False
    try:
        obj = _loads(data)
        if not isinstance(obj, dict):
            raise ValueError("not a JSON object")
    except ValueError:
        out.error = "malformed SSE: " + data[:60].decode("utf-8", "replace")
        return True
    if obj.get("error"):
        err = obj["error"]
        out.error = "server error: " + str(err.get("message", err) if isinstance(err, dict) else err)[:120]
        return True
    if obj.get("usage"):
        out.usage = obj["usage"]
    for choice in obj.get("choices") or ():
        text, n = _chunk_text(choice, chat)
        if text or n:
            out.times.append(t)
            out.texts.append(text)
            out.counts.append(n)
        if choice.get("finish_reason"):
            out.done = True
    return False


def spread(n_tokens: int, weights: list[int]) -> list[int]:
    """Tokens per chunk: ``n_tokens`` over chunks in proportion to ``weights``, cumulatively.

    Token j (1-based) belongs to the first chunk whose cumulative weight reaches j/n of the total,
    so the last token lands on the last chunk; with at least one token per chunk, every chunk
    first gets one and the rest follows the weights.
    """
    m = len(weights)
    if m == 0 or n_tokens <= 0:
        return [0] * m
    if n_tokens >= m:
        extra = [max(w - 1, 0) for w in weights]
        if not sum(extra):
            extra = [1] * m
        return [1 + c for c in spread_exact(n_tokens - m, extra, sum(extra))]
    return spread_exact(n_tokens, [max(w, 1) for w in weights], sum(max(w, 1) for w in weights))


def spread_exact(n: int, weights: list[int], total: int) -> list[int]:
    """Cumulative apportionment of ``n`` over ``weights`` summing to ``total`` (sums to n exactly)."""
    counts, cum, given = [], 0, 0
    for w in weights:
        cum += w
        upto = (n * cum) // total
        counts.append(upto - given)
        given = upto
    return counts


def token_times(
    parsed: Parsed, usage_tokens: int | None, count: Callable[[list[str]], list[int]] | None
) -> tuple[list[float], list[int], str]:
    """One timestamp per output token, the tokens per chunk, and where the count came from."""
    m = len(parsed.times)
    explicit = [int(c) for c in parsed.counts if c is not None]
    if m and len(explicit) == len(parsed.counts):  # every chunk said how many tokens it carries
        counts, source = explicit, "chunks"
    elif usage_tokens is not None and usage_tokens == m:
        counts, source = [1] * m, "usage"
    elif usage_tokens is not None:
        weights = count(parsed.texts) if count else [len(t) for t in parsed.texts]
        counts, source = spread(usage_tokens, weights), "usage"
    elif count is not None:
        counts, source = [max(c, 1) for c in count(parsed.texts)], "retokenized"
    else:
        counts, source = [1] * m, "one per chunk"
    times = [t for t, c in zip(parsed.times, counts, strict=True) for _ in range(c)]
    return times, counts, source
