"""Per-request latency metrics (docs/metrics.md), pure functions of records.

TTFT = t_1 - t_send; TPOT = (t_n - t_1) / (n - 1) for n >= 2 (vLLM's TPOT, GuideLLM's ITL);
ITL = every gap t_{i+1} - t_i pooled over requests (vLLM's ITL); E2E = t_n - t_send.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import sub

from infermeter.core.records import RequestRecord


def ttft(r: RequestRecord) -> float | None:
    """Time to first token, or None when no token arrived."""
    return r.token_times[0] - r.t_send if r.token_times else None


def tpot(r: RequestRecord) -> float | None:
    """Mean time per output token after the first; None for fewer than two tokens."""
    n = len(r.token_times)
    return (r.token_times[-1] - r.token_times[0]) / (n - 1) if n >= 2 else None


def e2e(r: RequestRecord) -> float | None:
    """End-to-end latency: send to last token."""
    return r.token_times[-1] - r.t_send if r.token_times else None


def itl(records: Iterable[RequestRecord]) -> list[float]:
    """All inter-token gaps, pooled over requests.

    Gaps of zero inside a chunk (several tokens delivered at once) are kept: they are what the
    caller saw; ``tokens_per_chunk`` in the records says when that happened.
    """
    gaps: list[float] = []
    for r in records:
        t = r.token_times
        gaps.extend(map(sub, t[1:], t))  # in C: a generator here cost more than parsing the stream
    return gaps


def values(fn, records: Iterable[RequestRecord]) -> list[float]:  # noqa: ANN001 - metric function
    """Apply a per-request metric to successful records, dropping undefined values."""
    out = []
    for r in records:
        if r.ok:
            v = fn(r)
            if v is not None:
                out.append(v)
    return out
