"""Recording results in the results database as they arrive.

The database is a convenience on top of the files: a database problem (locked, unwritable, a newer
schema) is reported once on stderr and recording stops, but the measurement goes on and its files
are written as always. ``INFERMETER_DB=off`` disables recording.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from infermeter.core.records import add_record_listener
from infermeter.core.redact import redact_obj
from infermeter.errors import InfermeterError
from infermeter.results.store import open_store

_failed = False


def _store() -> Any:
    global _failed
    if _failed or os.environ.get("INFERMETER_DB", "").lower() in ("off", "none", "0"):
        return None
    try:
        return open_store()
    except (InfermeterError, sqlite3.Error, OSError) as err:
        _warn(err)
        return None


def _warn(err: Exception) -> None:
    global _failed
    if not _failed:
        print(f"infermeter: warning: results database disabled for this run: {err}", file=sys.stderr)
    _failed = True


def _safely(method: str, *args: Any) -> None:

    store = _store()
    if store is None:
        return
    args = tuple(redact_obj(a) if isinstance(a, dict | list) else a for a in args)  # no credential in the DB
    try:
        getattr(store, method)(*args)
    except (InfermeterError, sqlite3.Error, OSError) as err:
        _warn(err)


def install() -> None:
    """Record every batch a :class:`~infermeter.core.records.RecordSink` writes (worker initializer)."""
    add_record_listener(records)


def begin(run_dir: Path, kind: str, config: dict[str, Any], environment: dict[str, Any] | None = None) -> None:
    """Register a run that is starting (status "running")."""
    _safely("begin_run", Path(run_dir).name, kind, config, environment, str(Path(run_dir) / "report.json"))


def records(run_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Append per-request records of a run (called once per batch, from any process)."""
    _safely("append_records", Path(run_dir).name, rows)


def finish(report: dict[str, Any]) -> None:
    """Store a run's final status and its measurements."""
    _safely("finish_run", Path(report["run_dir"]).name, report)
