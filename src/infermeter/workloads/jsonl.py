"""Generic JSONL: one ``{"prompt": ..., "answer": ...}`` object per line.

``answer`` (or ``answers``) may be a string, a number or a list of acceptable answers; it is
optional (no accuracy then). ``id``, ``system`` and ``image`` (a path relative to the file) are
optional too. A bad line is an error naming the file and line (``--skip-bad`` passes over it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.workloads.base import ItemList, WorkItem, register_workload
from infermeter.workloads.select import BadItem, answers, check_image, existing_file, scorer_for, select

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def row_item(row: dict[str, Any], where: str, base: Path, default_id: str, scorer: str) -> WorkItem:
    """One item from a JSONL object or a CSV row (the same keys), or :class:`BadItem` naming ``where``."""
    prompt = row.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadItem(f"{where}: missing or empty 'prompt' (a non-empty string)")
    if not prompt.isascii() and _LONE_SURROGATE.search(prompt):  # JSON allows "\ud800"; UTF-8 does not
        raise BadItem(f"{where}: 'prompt' holds a lone surrogate (an invalid \\uD800-\\uDFFF escape)")
    key = "answers" if row.get("answers") not in (None, "") else "answer"
    reference = answers(row.get(key) if row.get(key) != "" else None, where)  # an empty CSV cell: no answer
    image = row.get("image")
    if image not in (None, "") and not isinstance(image, str):
        raise BadItem(f"{where}: 'image' must be a path (a string), got {type(image).__name__}")
    images = (check_image(base / image, where),) if image else ()
    ident = row.get("id")
    return WorkItem(
        id=str(ident) if ident not in (None, "") else default_id,
        prompt=prompt,
        reference=reference,
        scorer=scorer,
        system=row.get("system") or None,
        images=images,
    )


def _line_item(path: Path, lineno: int, line: str, scorer: str) -> WorkItem:
    where = f"{path}:{lineno}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise BadItem(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(row, dict):
        raise BadItem(f"{where}: expected a JSON object with a 'prompt' key")
    return row_item(row, where, path.parent, f"line-{lineno}", scorer)


@register_workload("jsonl")
def load_jsonl(cfg) -> ItemList:  # noqa: ANN001 - WorkloadConfig
    """``cfg.limit`` items (first or sampled); the scorer is ``contains`` unless configured."""
    if not cfg.path:
        raise InfermeterError("workload kind jsonl needs a file: --dataset PATH")
    path = existing_file(cfg.path, "dataset file")
    scorer = scorer_for(cfg, "contains")
    try:
        # -sig: tolerate a byte-order mark. Split on newlines only: str.splitlines() also splits on
        # U+2028, U+0085 and others, which JSON allows raw inside a string.
        lines = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n").split("\n")
    except UnicodeDecodeError as err:
        raise InfermeterError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    candidates = [
        (lambda n=n, line=line: _line_item(path, n, line, scorer)) for n, line in enumerate(lines, 1) if line.strip()
    ]
    return select(cfg, candidates)
