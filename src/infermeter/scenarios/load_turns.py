"""Per-turn numbers of multi-turn conversations, and token totals of a load point (pure functions).

Each turn of a conversation carries the whole history before it, so its prompt grows turn after
turn; a server that reuses the cached prefix keeps TTFT nearly flat while the prompt grows, one
that does not pays for the whole history again. The per-turn table makes that visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infermeter.core.records import RequestRecord
from infermeter.metrics.latency import ttft, values
from infermeter.scenarios.load_options import percentiles_of


def total_token_throughput(ok: Sequence[RequestRecord], window_s: float | None) -> float | None:
    """(input + output tokens of the successful requests) per second of the window, as vLLM reports it."""
    if not window_s:
        return None
    return sum(r.prompt_tokens + r.output_tokens for r in ok) / window_s


def by_turn(records: Sequence[RequestRecord], pcts: Sequence[float]) -> list[dict[str, Any]] | None:
    """One row per turn index: requests, mean prompt tokens (history included), TTFT summary; None if no turns."""

    turns: dict[int, list[RequestRecord]] = {}
    for r in records:
        if "turn" in r.extra:
            turns.setdefault(int(r.extra["turn"]), []).append(r)
    if not turns:
        return None
    rows = []
    for t in sorted(turns):
        recs = turns[t]
        vals = values(ttft, recs)
        rows.append(
            {
                "turn": t,
                "requests": len(recs),
                "prompt_tokens_mean": sum(r.prompt_tokens for r in recs) / len(recs),
                "ttft_mean_s": sum(vals) / len(vals) if vals else None,
                "ttft_s": percentiles_of(vals, pcts),
            }
        )
    return rows


def turn_table_rows(turns: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Console rows of :func:`by_turn`: turn, requests, mean prompt tokens, TTFT mean / p50 / p95 (ms)."""

    def ms(v: float | None) -> str:
        return f"{v * 1000:.1f}" if v is not None else "-"

    return [
        [str(t["turn"]), str(t["requests"]), f"{t['prompt_tokens_mean']:.0f}", ms(t["ttft_mean_s"]),
         ms(t["ttft_s"].get("p50")), ms(t["ttft_s"].get("p95"))]
        for t in turns
    ]  # fmt: skip
