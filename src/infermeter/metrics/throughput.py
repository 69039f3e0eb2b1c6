"""Throughput metrics, pure functions of records.

* decode TPS of one batch: sum(n_r - 1) / (max_r t_{n_r} - min_r t_1): tokens produced after the
  first one, over the time the batch spent decoding. For batch 1 this is the design's
  ``(n - 1) / (t_n - t_1)``; for a batch it is the aggregate rate (what bare-script tables quote).
* per-stream output speed: sum(n - 1) / sum(t_n - t_1), the speed one user sees (the
  "output speed"; 1 / TPOT for equal lengths).
* output throughput: all output tokens / wall time of the measured window (first send to last
  token), prefill included: the serving number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from infermeter.core.records import RequestRecord


def by_batch(records: Iterable[RequestRecord]) -> dict[int, list[RequestRecord]]:
    """Group records by the generate() call they were part of."""
    groups: dict[int, list[RequestRecord]] = defaultdict(list)
    for r in records:
        groups[r.batch_id].append(r)
    return dict(groups)


def decode_tps(batch: list[RequestRecord]) -> float | None:
    """Aggregate decode rate of one batch (tokens after the first / decode time)."""
    ok = [r for r in batch if r.ok]
    tokens = sum(r.output_tokens - 1 for r in ok)
    if not ok or tokens <= 0:
        return None
    span = max(r.token_times[-1] for r in ok) - min(r.token_times[0] for r in ok)
    return tokens / span if span > 0 else None


def stream_speed(records: Iterable[RequestRecord]) -> float | None:
    """Per-stream output speed: sum(n - 1) / sum(t_n - t_1)."""
    tokens = span = 0.0
    for r in records:
        if r.ok and r.output_tokens >= 2:
            tokens += r.output_tokens - 1
            span += r.token_times[-1] - r.token_times[0]
    return tokens / span if span > 0 else None


def output_throughput(records: Iterable[RequestRecord]) -> float | None:
    """Output tokens per second of wall time over the window the records span."""
    ok = [r for r in records if r.ok]
    if not ok:
        return None
    wall = max(r.token_times[-1] for r in ok) - min(r.t_send for r in ok)
    return sum(r.output_tokens for r in ok) / wall if wall > 0 else None


def batch_throughputs(records: Iterable[RequestRecord]) -> list[float]:
    """Output throughput of each batch separately (one sample per generate() call)."""
    out = []
    for batch in by_batch(records).values():
        v = output_throughput(batch)
        if v is not None:
            out.append(v)
    return out


def batch_decode_tps(records: Iterable[RequestRecord]) -> list[float]:
    """Decode TPS of each batch separately."""
    return [v for b in by_batch(records).values() if (v := decode_tps(b)) is not None]
