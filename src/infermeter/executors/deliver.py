"""The driver's side of a task's return: its files into the run folder, its records into the database."""

from __future__ import annotations

import json
from pathlib import Path

from infermeter.core.records import notify
from infermeter.executors.base import Outcome

RECORDS = "records.jsonl"


def deliver(outcome: Outcome, run_dir: Path) -> None:
    """Append every file the task wrote in its scratch folder to ``run_dir``; record its records.

    Appending keeps folders that several tasks share (a comparison's one ``records.jsonl``) whole.
    """
    for name, blob in outcome.files.items():
        path = run_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as f:
            f.write(blob)
        if Path(name).name == RECORDS:
            rows = [json.loads(line) for line in blob.decode("utf-8").splitlines() if line.strip()]
            if rows:
                notify(path.parent, rows)  # the results database listens
