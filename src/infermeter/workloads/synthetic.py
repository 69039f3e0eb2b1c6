"""Synthetic prompts of an exact token length (the speed workload).

The items only carry an index: the backend draws the token ids itself
(:meth:`Backend.synthetic_prompt`), because only it knows which ids are ordinary tokens and how to
reach an exact length without a retokenization round-trip.
"""

from __future__ import annotations

from infermeter.workloads.base import WorkItem, register_workload


@register_workload("synthetic")
def load_synthetic(cfg) -> list[WorkItem]:  # noqa: ANN001 - WorkloadConfig
    """``cfg.limit`` placeholders; prompt length is ``cfg.prompt_len`` tokens."""
    return [WorkItem(id=f"synthetic-{i}", prompt="", scorer="none") for i in range(cfg.limit)]
