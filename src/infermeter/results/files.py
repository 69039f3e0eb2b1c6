"""Find and read report files for ``infermeter report``: report.json paths or result directories."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from infermeter.core.records import REPORT_FILE
from infermeter.errors import InfermeterError
from infermeter.interop.foreign import foreign_report
from infermeter.results.lifecycle import rebuild
from infermeter.results.models import migrate


def find_report_files(path: Path) -> list[Path]:
    """``path`` itself when it is a file; every report.json below it (sorted) when it is a directory,
    except those inside another report's folder (a sweep's per-point runs)."""
    if not path.exists():
        raise InfermeterError(f"{path}: no such file or directory")
    if path.is_file():
        return [path]
    found = sorted(path.rglob(REPORT_FILE))
    if not found and (path / "records.jsonl").is_file():  # killed before its report: rebuild one
        return [rebuild(path)]
    if not found:
        raise InfermeterError(f"{path}: no {REPORT_FILE} in this directory or below it")
    # A report folder's own sub-reports (a sweep's points/*/) belong to it: name them to see them.
    tops = {f.parent for f in found}
    return [f for f in found if not any(d in tops for d in f.parent.parents)]


def load_report(path: Path) -> dict[str, Any]:
    """Read one report file, failing with a one-line error that names the file."""

    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except UnicodeDecodeError as err:
        raise InfermeterError(f"{path}: not a text file ({err.reason})") from err
    except json.JSONDecodeError as err:
        if (imported := foreign_report(path, text)) is not None:  # vLLM's appended results: JSON lines
            return imported
        raise InfermeterError(f"{path}: not JSON ({err.msg} at line {err.lineno} column {err.colno})") from err
    except OSError as err:
        raise InfermeterError(f"{path}: cannot read ({err.strerror})") from err
    if not isinstance(data, dict) or "schema_version" not in data:
        if (imported := foreign_report(path, text)) is not None:  # vLLM or GuideLLM results
            return imported
        raise InfermeterError(
            f"{path}: not an infermeter report (no schema_version), nor a vLLM or GuideLLM result file"
        )
    return migrate(data, str(path))  # older versions are brought up to date; newer ones refused


def load_reports(paths: Iterable[Path | str]) -> list[dict[str, Any]]:
    """Reports from files and/or directories (searched recursively), in argument order; a file named
    twice (directly and through its directory) is loaded once."""
    seen: set[Path] = set()
    out = []
    for given in paths:
        for f in find_report_files(Path(given)):
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(load_report(f))
    return out
