"""Prompts of the serving datasets, built on the client before anything is timed.

Items of ``random`` and token-length ``trace`` lines carry an input length, not text: their prompts
are ordinary token ids drawn by the client tokenizer (exact lengths, as vLLM's random dataset).
Trace lines that share ``hash_ids`` blocks share those blocks' tokens. An item with a reference
reply (ShareGPT, multi-turn) gets the reply's token count as its ``max_tokens``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infermeter.backends.base import Prompt
from infermeter.scenarios.load_profiles import MAX_SYNTHETIC
from infermeter.workloads.serving_synth import TRACE_BLOCK_TOKENS, random_items

SERVING_KINDS = ("random", "trace", "sharegpt", "multi-turn", "hf-json")
FORCED_KINDS = ("random", "trace")  # lengths come from the spec or the trace: EOS is ignored, as vLLM does


def _drawn(backend: Any, meta: dict[str, Any], seed: int, i: int) -> Prompt:
    """A prompt of exactly ``input_len`` ordinary tokens; trace ``hash_ids`` blocks are shared across prompts."""

    n = int(meta["input_len"])
    ids: list[int] = []
    for h in meta.get("hash_ids") or ():
        if len(ids) >= n:
            break
        ids += backend.synthetic_prompt(TRACE_BLOCK_TOKENS, np.random.default_rng([seed, 19, int(h)])).ids
    if len(ids) < n:
        ids += backend.synthetic_prompt(n - len(ids), np.random.default_rng([seed, 11, i])).ids
    ids = ids[:n]
    text = backend.tok.decode(ids)
    return Prompt(ids=ids, text=text, messages=[{"role": "user", "content": text}])


def serving_prompts(backend: Any, cfg: Any, items: list[Any], planned: int) -> tuple[list[Prompt], bool] | None:
    """The prompts of a serving dataset and whether output lengths are forced; None for other workloads."""

    wl = cfg.workload
    if wl.kind not in SERVING_KINDS:
        return None
    if wl.kind == "random":  # distinct prompts for every planned request, as synthetic ones
        items = random_items(wl, max(len(items), min(planned, MAX_SYNTHETIC)), cfg.generation.max_new_tokens)
    prompts, replies, where = [], [], []
    for i, it in enumerate(items):
        meta = dict(it.meta)
        p = _drawn(backend, meta, cfg.seed, i) if "input_len" in meta else backend.encode(it)
        p.extra.update({k: v for k, v in meta.items() if k not in ("input_len", "hash_ids", "reply")})
        if wl.output_len:  # --output-len: one length for all, as vLLM's flag
            p.extra["max_tokens"] = wl.output_len
        elif it.output_len:
            p.extra["max_tokens"] = it.output_len
        elif isinstance(meta.get("reply"), str):
            replies.append(meta["reply"])
            where.append(p)
        prompts.append(p)
    counted = backend.tok(replies, add_special_tokens=False)["input_ids"] if replies else []
    for p, ids in zip(where, counted, strict=True):  # one batched call: the reply's length is its max_tokens
        p.extra["max_tokens"] = max(1, len(ids))
    forced = cfg.generation.force_output_len
    return prompts, (forced if forced is not None else wl.kind in FORCED_KINDS)
