"""Two serving workloads that show what server-side optimizations buy.

* ``shared-prefix``: every request carries the same long system prompt (a few-shot GSM8K prompt:
  worked solutions from the end of the test set) followed by its own GSM8K question from the start
  of the set. The prefix is about ``workload.prompt_len`` tokens (estimated at 4 characters per
  token; the real count is in each record). With prefix caching on, a server computes the shared
  prefix once and later requests only prefill their question: TTFT drops, throughput rises. Run it
  with caching on and off (``engine.enable_prefix_caching`` in-process, the server's flag over HTTP).
* ``many-requests``: ``workload.limit`` short requests whose natural answers differ a lot in length
  ("list 3 fruits" ... "list 40 cities"). A static batch (HF ``generate``) holds every slot until its
  longest member ends; a continuous-batching server refills a slot as soon as a request finishes.
  Send them all at once: ``run --batch-size N`` in-process vs ``load --profile concurrent:N``.

Both are deterministic (fixed seeds, files in installed packages), so two backends see the same
requests.
"""

from __future__ import annotations

import json

import numpy as np

from infermeter.workloads.base import WorkItem, register_workload
from infermeter.workloads.gsm8k import gsm8k_path, load_gsm8k

CHARS_PER_TOKEN = 4  # English BPE average; only sizes the prefix, records keep the real count
_INSTRUCTIONS = (
    "You are a careful math tutor. Solve each problem step by step, then give the final answer "
    "on its own line as '#### <number>'. Worked examples follow.\n\n"
)


def few_shot_prefix(n_tokens: int) -> str:
    """Instructions plus worked GSM8K solutions (from the end of the test set) of about ``n_tokens``."""
    with gsm8k_path().open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    parts, size = [_INSTRUCTIONS], len(_INSTRUCTIONS)
    for row in reversed(rows):
        if size >= n_tokens * CHARS_PER_TOKEN:
            break
        shot = f"Question: {row['question']}\nAnswer: {row['answer']}\n\n"
        parts.append(shot)
        size += len(shot)
    return "".join(parts)


@register_workload("shared-prefix")
def load_shared_prefix(cfg) -> list[WorkItem]:  # noqa: ANN001 - WorkloadConfig
    """``cfg.limit`` GSM8K questions behind one shared few-shot system prompt of ~``cfg.prompt_len`` tokens."""
    prefix = few_shot_prefix(cfg.prompt_len)
    return [
        WorkItem(id=f"shared-{i}", prompt=it.prompt, reference=it.reference, scorer=it.scorer, system=prefix)
        for i, it in enumerate(load_gsm8k(cfg))
    ]


_TOPICS = ("fruits", "countries", "animals", "colors", "cities", "vegetables", "sports", "musical instruments")


@register_workload("many-requests")
def load_many_requests(cfg) -> list[WorkItem]:  # noqa: ANN001 - WorkloadConfig
    """``cfg.limit`` list requests of seeded lengths (2 to 40 entries): outputs of very different lengths."""
    rng = np.random.default_rng(3)
    counts = rng.integers(2, 41, size=cfg.limit)
    return [
        WorkItem(
            id=f"many-{i}",
            prompt=f"List {k} {_TOPICS[i % len(_TOPICS)]}, one per line, numbered.",
            scorer="none",
        )
        for i, k in enumerate(counts.tolist())
    ]
