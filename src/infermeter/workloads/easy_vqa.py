"""easy-VQA, from the PyPI package ``easy-vqa`` (MIT): 9,673 test questions over 1,000 PNG images
of one coloured shape each ("what is the red shape?", "is there a blue shape?"), 13 possible answers.

Each item carries its PNG path in ``WorkItem.images`` (checked with PIL before the run). The answer
has one ground truth, so the ``vqa`` scorer compares it after the official VQA normalization (see
:func:`infermeter.metrics.accuracy.vqa`). ``workload.path`` may name another folder in the same
layout (``questions.json`` + ``images/<image_id>.png``), e.g. the package's ``train`` split.
"""

from __future__ import annotations

import importlib.util
import json
from functools import partial
from pathlib import Path

from infermeter.errors import InfermeterError
from infermeter.workloads.base import ItemList, WorkItem, register_workload
from infermeter.workloads.select import BadItem, check_image, existing_file, scorer_for, select

# The short-answer instruction VLMs are evaluated with on VQAv2 (Qwen-VL, LLaVA).
INSTRUCTION = "Answer the question using a single word or phrase."


def data_dir() -> Path:
    """The package's data folder, or a clear error naming the package to install."""
    spec = importlib.util.find_spec("easy_vqa")
    if spec is None or not spec.submodule_search_locations:
        raise InfermeterError("the easy-vqa dataset needs the package easy-vqa (pip install easy-vqa)")
    return Path(next(iter(spec.submodule_search_locations)), "data")


def _item(qfile: Path, k: int, entry: object, images: Path, scorer: str) -> WorkItem:
    where = f"{qfile} question {k}"
    if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str) and isinstance(entry[2], int)):
        raise BadItem(f"{where}: expected [question, answer, image_id], got {str(entry)[:80]}")
    question, answer, image_id = entry
    if not isinstance(answer, str) or not answer.strip():
        raise BadItem(f"{where}: unknown answer format: expected a non-empty string, got {answer!r}")
    image = check_image(images / f"{image_id}.png", where)
    return WorkItem(
        id=f"easy-vqa-{k}",
        prompt=f"{question}\n{INSTRUCTION}",
        reference=answer,
        scorer=scorer,
        images=(image,),
    )


@register_workload("easy-vqa")
def load_easy_vqa(cfg) -> ItemList:  # noqa: ANN001 - WorkloadConfig
    """``cfg.limit`` questions of the test split (first or sampled), each with its image."""
    root = Path(cfg.path) if cfg.path else data_dir() / "test"
    qfile = existing_file(root / "questions.json", "easy-VQA questions file")
    try:
        entries = json.loads(qfile.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InfermeterError(f"{qfile}: not a JSON file ({err})") from None
    if not isinstance(entries, list):
        raise InfermeterError(f"{qfile}: expected a list of [question, answer, image_id]")
    scorer = scorer_for(cfg, "vqa")
    images = root / "images"
    return select(cfg, [partial(_item, qfile, k, e, images, scorer) for k, e in enumerate(entries)])
