"""run --processes N: the between-process table and CSV rows, and the report written when a process fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infermeter.api import processes as procs
from infermeter.config import build_config
from infermeter.errors import InfermeterError
from infermeter.metrics.processes import across_processes
from infermeter.render.export import rows, tables
from infermeter.results.schema import Report


def _report(i: int, decode: float) -> dict[str, Any]:
    d = {"n": 4, "units": 4, "mean": decode, "median": decode, "p90": decode, "p99": decode, "stdev": 1.0,
         "ci95_low": decode - 1, "ci95_high": decode + 1}  # fmt: skip
    return {
        "schema_version": 2, "kind": "run", "status": "complete", "error": None, "run_dir": f"/tmp/proc{i}",
        "config": {}, "load": {"load_s": 2.0 + i}, "first_call": {"first_call_s": 1.0 + i},
        "metrics": {"requests": {"total": 1, "ok": 1, "errors": 0}, "decode_tps": d,
                    "memory": {"peak": {"rss": 2**30}}},
        "warnings": ["w"], "records": [],
    }  # fmt: skip


def test_the_table_and_csv_rows_show_the_ci_over_processes() -> None:
    data = {**_report(0, 10.0), "processes": across_processes([_report(i, 10.0 + 5 * i) for i in range(3)])}
    t = next(t for t in tables(data) if t.name == "processes")
    by_metric = {r[0]: r for r in t.rows}
    assert set(by_metric) == {"decode speed (tok/s)", "model load time (ms)", "first call (ms)", "peak RSS (GiB)"}
    row = by_metric["decode speed (tok/s)"]
    assert row[1].startswith("15.0 [") and row[3] == "5x" and row[4] == "0/6" and row[5] == "10.0, 15.0, 20.0"
    csv = {r["name"]: r for r in rows(data) if r.get("section") == "processes"}
    assert csv["decode_tps"]["n"] == 3 and csv["load_s"]["ci95_low"] is not None


def test_a_failed_process_still_leaves_the_runs_report(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INFERMETER_DB", "off")
    calls: list[int] = []

    def one_run(cfg: Any, progress: bool = True) -> Report:
        calls.append(1)
        if len(calls) == 3:
            raise InfermeterError("out of memory")
        return Report(_report(len(calls), 10.0 * len(calls)))

    cfg = build_config({"model": {"name": "tiny-qwen3"}, "output": str(tmp_path)})
    with pytest.raises(InfermeterError, match="out of memory"):
        procs.run_processes(cfg, 4, False, one_run)
    (folder,) = tmp_path.iterdir()
    data = json.loads((folder / "report.json").read_text())
    assert data["status"] == "failed" and data["error"] == "process 3 of 4: out of memory"
    assert data["processes"]["n"] == 2 and data["processes"]["planned"] == 4
    assert data["processes"]["metrics"]["decode_tps"]["per_process"] == [10.0, 20.0]


def test_zero_processes_or_inline_processes_are_refused() -> None:
    cfg = build_config({"model": {"name": "tiny-qwen3"}})
    with pytest.raises(InfermeterError, match="at least 1, got 0"):
        procs.check_processes(0, cfg)
    inline = build_config({"model": {"name": "tiny-qwen3"}, "measure": {"isolation": "inline"}})
    with pytest.raises(InfermeterError, match="drop --inline"):
        procs.check_processes(2, inline)
