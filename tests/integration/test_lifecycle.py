"""Every way a command can end leaves a report with a status: Ctrl-C, SIGTERM, SIGKILL (rebuilt), a failed gate.

Assertions are on events (a record on disk, then a signal) and on the files, never on durations.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import run_cli
from .waits import FolderWatch

FAST = ("--set", "tokenizer=qwen", "--prompt-len", "8", "--max-new-tokens", "64")

pytestmark = pytest.mark.integration


def _interruptible() -> None:
    """In the child before exec: SIGINT back to its default. pytest-xdist's workers ignore SIGINT and a
    child inherits that (Python then installs no KeyboardInterrupt handler); a user's Ctrl-C is not ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(tmp: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "INFERMETER_DB": str(tmp / "results.db")}
    cmd = [sys.executable, "-m", "infermeter", *args]
    return subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_interruptible)  # fmt: skip


def _wait_for_records(tmp: Path, proc: subprocess.Popen, timeout: float = 180) -> Path:
    """The run folder, once its records.jsonl holds a first record (woken by the write, not a timer)."""

    def written() -> Path | None:
        found = [p for p in (tmp / "results").glob("*/records.jsonl") if p.stat().st_size > 0]
        return found[0].parent if found else None

    try:
        with FolderWatch(tmp) as watch:
            return watch.until(written, timeout, "a first record", proc=proc)
    except ChildProcessError:
        pytest.fail(f"ended before its first record: {proc.stderr.read()[-2000:]}")
    except TimeoutError:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("no record appeared")


def _finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("did not end after the signal")
    return proc.returncode, err


def _db_status(tmp: Path) -> str:
    return sqlite3.connect(tmp / "results.db").execute("SELECT status FROM runs").fetchone()[0]


@pytest.mark.parametrize(("command", "sig"), [("load", signal.SIGINT), ("run", signal.SIGTERM), ("run", signal.SIGINT)])
def test_an_interrupted_command_ends_its_report_and_db_row_as_interrupted(tmp_path, null_server, command, sig):
    srv = null_server("--tokens", "64", "--pace-ms", "40")
    if command == "load":
        args = ("load", "--base-url", srv.url, "--profile", "concurrent:2", "--duration", "10m", "--quiet")
    else:
        args = ("run", "--backend", "openai", "--base-url", srv.url, "--workload", "synthetic", "--limit", "64",
                "--batch-size", "1", "--prompt-lens", "", "--batch-sizes", "", "--quiet")  # fmt: skip
    proc = _start(tmp_path, *args, *FAST, "--output", "results")
    run_dir = _wait_for_records(tmp_path, proc)
    os.killpg(proc.pid, sig)  # the whole group, as a terminal's Ctrl-C does
    code, err = _finish(proc)
    assert code == 130, err[-2000:]
    assert "Traceback" not in err
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "interrupted" and "interrupted" in report["error"]
    assert _db_status(tmp_path) == "interrupted"
    proc2 = run_cli("report", str(run_dir), tmp=tmp_path)
    assert proc2.returncode == 0, proc2.stderr[-2000:]


def test_a_killed_load_is_rebuilt_from_its_records(tmp_path, null_server):
    srv = null_server("--tokens", "64", "--pace-ms", "40")
    args = ("load", "--base-url", srv.url, "--profile", "concurrent:2", "--duration", "10m", "--quiet")
    proc = _start(tmp_path, *args, *FAST, "--output", "results")
    run_dir = _wait_for_records(tmp_path, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    _finish(proc)
    assert not (run_dir / "report.json").exists()
    shown = run_cli("report", str(run_dir), tmp=tmp_path)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "rebuilt from records.jsonl" in " ".join(shown.stdout.split())  # rich wraps long lines
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "interrupted" and report["kind"] == "load"
    assert report["load_run"]["points"][0]["requests"]["sent"] >= 1


def test_diff_refuses_a_failed_candidate(tmp_path, null_server):
    ok = null_server("--tokens", "8", "--pace-ms", "0")
    bad = null_server("--tokens", "8", "--pace-ms", "0", "--fault", "http500")
    common = ("--backend", "openai", "--workload", "synthetic", "--limit", "2", "--batch-size", "1",
              "--prompt-lens", "", "--batch-sizes", "", "--quiet", "--output", "results", *FAST)  # fmt: skip
    assert run_cli("run", "--base-url", ok.url, *common, tmp=tmp_path).returncode == 0
    failed = run_cli("run", "--base-url", bad.url, *common, tmp=tmp_path)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert "failed (HTTP 500" in failed.stderr  # the server's reason, in one line
    ids = sorted(p.name for p in (tmp_path / "results").iterdir())
    rows = dict(sqlite3.connect(tmp_path / "results.db").execute("SELECT run_id, status FROM runs").fetchall())
    good_id = next(i for i in ids if rows[i] == "complete")
    bad_id = next(i for i in ids if rows[i] == "failed")
    gate = run_cli("diff", good_id, bad_id, "--fail-on-regression", "5%", tmp=tmp_path)
    assert gate.returncode == 2 and "not complete" in gate.stderr


def test_a_server_that_dies_mid_run_stops_the_run_instead_of_being_flooded(tmp_path, null_server):
    srv = null_server("--tokens", "16", "--pace-ms", "20")
    args = ("load", "--base-url", srv.url, "--profile", "concurrent:4", "--duration", "10m", "--quiet")
    proc = _start(tmp_path, *args, *FAST, "--output", "results")
    run_dir = _wait_for_records(tmp_path, proc)
    srv.kill()
    code, err = _finish(proc, timeout=300)  # without the guard this ran for the whole 10 minutes
    assert code == 4, err[-2000:]
    report = json.loads((run_dir / "report.json").read_text())
    assert "connections in a row" in report["load_run"]["stopped"]
    failures = report["load_run"]["errors_total"]
    assert 20 <= failures < 40  # the streak limit, plus the streams cut and what the other workers had in flight
