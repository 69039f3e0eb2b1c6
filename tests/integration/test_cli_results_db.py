"""The results database end to end: runs recorded as they happen, `history`, `diff --fail-on-regression`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from .conftest import TINY, run_cli, run_json

pytestmark = pytest.mark.integration

ARGS = (
    *TINY,
    "--workload",
    "synthetic",
    "--limit",
    "4",
    "--batch-size",
    "2",
    "--max-new-tokens",
    "8",
    "--prompt-len",
    "16",
    "--batch-sizes",
    "",
    "--prompt-lens",
    "",
)


def test_runs_are_recorded_and_diffed(tmp_path: Path) -> None:
    # 16x the tokens: E2E must regress. One request per batch and 16 a side, so one batch stalled by a busy
    # machine (seen: a 1 s pause) cannot widen the interval past a 16x change (4 units a side could).
    more = ("--limit", "16", "--batch-size", "1")
    a = run_json(*ARGS, *more, "--max-new-tokens", "4", tmp=tmp_path)
    b = run_json(*ARGS, *more, "--max-new-tokens", "64", tmp=tmp_path)
    run_a, run_b = Path(a["run_dir"]).name, Path(b["run_dir"]).name
    db = tmp_path / "results.db"
    with sqlite3.connect(db) as conn:
        n_records = conn.execute("SELECT COUNT(*) FROM records WHERE run_id = ?", (run_a,)).fetchone()[0]
        status = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_a,)).fetchone()[0]
    assert n_records == len(a["records"]) and status == "complete"

    hist = run_cli("history", tmp=tmp_path)
    assert hist.returncode == 0 and run_a in hist.stdout and run_b in hist.stdout

    same = run_cli("diff", run_a, run_a, "--fail-on-regression", "5%", tmp=tmp_path)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "decode_tps" in same.stdout

    diff = run_cli("diff", run_a[:-2], run_b, tmp=tmp_path)  # a unique prefix is enough
    assert diff.returncode == 0 and "e2e_s" in diff.stdout
    worse = run_cli("diff", run_a, run_b, "--fail-on-regression", "5%", tmp=tmp_path)
    assert worse.returncode == 1 and "regressed" in worse.stdout, worse.stdout
    assert "regressed by more than 5%" in worse.stderr

    missing = run_cli("diff", "nope", run_a, tmp=tmp_path)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr


def test_report_command_writes_html_png_csv_md(tmp_path: Path) -> None:
    rep = run_json(*ARGS, tmp=tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    proc = run_cli(
        "report",
        rep["run_dir"],
        "--html",
        str(out / "r.html"),
        "--png",
        str(out / "png"),
        "--csv",
        str(out / "r.csv"),
        "--md",
        str(out / "r.md"),
        tmp=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    html = (out / "r.html").read_text()
    assert "<svg" in html and "decode" in html and "http://cdn" not in html
    assert list((out / "png").glob("*.png"))
    assert "decode_tps" in (out / "r.csv").read_text() and "|" in (out / "r.md").read_text()
    bad = run_cli("report", str(tmp_path / "nothing-here"), "--html", str(out / "x.html"), tmp=tmp_path)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    again = run_cli("report", rep["run_dir"], tmp=tmp_path)  # no output flag: the run's console view again
    assert again.returncode == 0, again.stderr
    assert "decode" in again.stdout and str(rep["config"]["model"]["name"]) in again.stdout
