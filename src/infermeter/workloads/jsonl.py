"""Generic JSONL: one ``{"prompt": ..., "answer": ...}`` object per line.

``answer`` may be a string, a number or a list of acceptable answers; it is optional (no accuracy
then). ``id`` and ``system`` are optional too. A bad line is an error naming the file and line.
"""

from __future__ import annotations

import json
from pathlib import Path

from infermeter.errors import InfermeterError
from infermeter.workloads.base import WorkItem, register_workload


def _bad(path: Path, lineno: int, why: str) -> InfermeterError:
    return InfermeterError(f"{path}:{lineno}: {why}")


@register_workload("jsonl")
def load_jsonl(cfg) -> list[WorkItem]:  # noqa: ANN001 - WorkloadConfig
    """Read up to ``cfg.limit`` items; the scorer is ``contains`` unless configured."""
    if not cfg.path:
        raise InfermeterError("workload kind jsonl needs a file: --dataset PATH")
    path = Path(cfg.path)
    if not path.is_file():
        raise InfermeterError(f"dataset file not found: {path}")
    scorer = "contains" if cfg.scorer == "auto" else cfg.scorer
    items: list[WorkItem] = []
    with path.open(encoding="utf-8-sig") as f:  # -sig: tolerate a byte-order mark
        for lineno, line in enumerate(f, 1):
            if len(items) >= cfg.limit:
                break
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise _bad(path, lineno, f"not valid JSON ({err.msg} at column {err.colno})") from None
            if not isinstance(row, dict):
                raise _bad(path, lineno, "expected a JSON object with a 'prompt' key")
            prompt = row.get("prompt")
            if not isinstance(prompt, str) or not prompt.strip():
                raise _bad(path, lineno, "missing or empty 'prompt' (a non-empty string)")
            answer = row.get("answer")
            if isinstance(answer, bool) or (answer is not None and not isinstance(answer, (str, int, float, list))):
                raise _bad(path, lineno, "'answer' must be a string, a number or a list of them")
            items.append(
                WorkItem(
                    id=str(row.get("id", f"line-{lineno}")),
                    prompt=prompt,
                    reference=answer,
                    scorer=scorer,
                    system=row.get("system"),
                )
            )
    return items
