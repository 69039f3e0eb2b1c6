"""Context load time: TTFT as a function of prompt length, as a curve."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from infermeter import stats
from infermeter.core.records import RequestRecord
from infermeter.metrics.latency import ttft, values


def context_curve(records: list[RequestRecord]) -> dict[str, Any] | None:
    """TTFT summary per prompt length, plus prefill speed (prompt tokens / mean TTFT)."""
    groups: dict[int, list[RequestRecord]] = defaultdict(list)
    for r in records:
        groups[r.prompt_tokens].append(r)
    points = []
    for n in sorted(groups):
        s = stats.summarize(values(ttft, groups[n]))
        if s is None:
            continue
        points.append(
            {
                "prompt_tokens": n,
                "ttft": s.to_dict(),
                "prefill_tokens_per_s": n / s.mean if s.mean > 0 else None,
            }
        )
    return {"points": points} if points else None
