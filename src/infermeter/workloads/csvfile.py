"""Generic CSV: a header row with a ``prompt`` column; optional ``answer`` or ``answers``, ``image``
(a path relative to the file), ``id`` and ``system`` columns.

``answers`` holds several acceptable answers, as a JSON list (``["2", "two"]``) or separated by
``|`` (``2|two``). A file without a ``prompt`` column is an error naming the file and its columns;
a bad row is an error naming the file and line (``--skip-bad`` passes over it).
"""

from __future__ import annotations

import csv
import json
from functools import partial
from pathlib import Path
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.workloads.base import ItemList, WorkItem, register_workload
from infermeter.workloads.jsonl import row_item
from infermeter.workloads.select import BadItem, existing_file, scorer_for, select

KNOWN_COLUMNS = ("prompt", "answer", "answers", "image", "id", "system")


def _answers_cell(text: str, where: str) -> list[str]:
    text = text.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise BadItem(
                f"{where}: unknown answer format: 'answers' starts with '[' but is not a JSON list "
                f"({err.msg} at column {err.colno})"
            ) from None
        if not isinstance(value, list):
            raise BadItem(f"{where}: unknown answer format: 'answers' must be a JSON list or a|b|c")
        return [str(v) for v in value]
    return [a.strip() for a in text.split("|") if a.strip()]


def _row_item(path: Path, lineno: int, row: dict[Any, Any], k: int, scorer: str) -> WorkItem:
    where = f"{path}:{lineno}"
    if None in row:  # DictReader files the surplus cells of a long row under the key None
        raise BadItem(f"{where}: {len(row) - 1 + len(row[None])} fields, but the header has {len(row) - 1}")
    row = dict(row)
    if row.get("answers"):
        row["answers"] = _answers_cell(row["answers"], where)
    return row_item(row, where, path.parent, f"row-{k}", scorer)


def _unterminated(path: Path) -> bool:
    """Whether the file ends inside a quoted cell (csv reads such a cell to the end of the file)."""
    return path.read_text(encoding="utf-8-sig").count('"') % 2 == 1


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[Any, Any]]]]:
    """The header and ``(line number, row)`` pairs (a row's last line, where a quoted cell spans
    several); blank lines are skipped."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f, strict=True)
            header = [h.strip() for h in reader.fieldnames or []]
            dupes = sorted({h for h in header if header.count(h) > 1 and h})
            if dupes:  # DictReader would keep the last of them silently
                raise InfermeterError(f"{path}: the header names column {dupes[0]!r} twice")
            reader.fieldnames = header
            rows = [(reader.line_num, row) for row in reader]
        if rows and _unterminated(path):
            raise InfermeterError(f"{path}: a quoted cell is never closed (odd number of '\"'): it swallows the rest")
    except UnicodeDecodeError as err:
        raise InfermeterError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except csv.Error as err:
        raise InfermeterError(f"{path}: malformed CSV ({err})") from None
    return header, rows


@register_workload("csv")
def load_csv(cfg) -> ItemList:  # noqa: ANN001 - WorkloadConfig
    """``cfg.limit`` rows (first or sampled); the scorer is ``contains`` unless configured."""
    if not cfg.path:
        raise InfermeterError("workload kind csv needs a file: --dataset PATH")
    path = existing_file(cfg.path, "dataset file")
    header, rows = read_rows(path)
    if "prompt" not in header:
        cols = ", ".join(repr(h) for h in header) or "none"
        raise InfermeterError(
            f"{path}: no 'prompt' column (the header has {cols}); "
            f"needed: prompt; optional: {', '.join(KNOWN_COLUMNS[1:])}"
        )
    scorer = scorer_for(cfg, "contains")
    return select(cfg, [partial(_row_item, path, n, row, k, scorer) for k, (n, row) in enumerate(rows, 1)])
