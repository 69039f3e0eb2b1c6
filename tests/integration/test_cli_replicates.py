"""`run --processes 2` and `sweep --replicates 2` end to end on the tiny model (real runs, each in its own
worker process): the between-process section in the report, CSV and database; the replicates' seeded
orders, CIs over replicates and a resumed replicate. Seven tiny runs in all.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from infermeter.scenarios.sweep_stats import order

from .conftest import run_cli

pytestmark = pytest.mark.integration

SMALL = ("--model", "tiny-qwen3", "--limit", "2", "--batch-size", "2", "--prompt-lens", "", "--batch-sizes", "",
         "--repeats", "2", "--set", "measure.max_repeats=2", "--set", "probe_prompt_len=16",
         "--set", "probe_output_len=6")  # fmt: skip


def test_run_in_two_processes_reports_cis_over_processes(tmp_path: Path) -> None:
    proc = run_cli("run", "--json", "--processes", "2", "--output", str(tmp_path / "results"), *SMALL, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    sec = data["processes"]
    assert sec["n"] == 2 and sec["unit"] == "process" and len(sec["runs"]) == 2
    assert all(Path(r, "report.json").is_file() for r in sec["runs"])  # each process: its own run
    assert {json.loads(Path(r, "report.json").read_text())["status"] for r in sec["runs"]} == {"complete"}
    for key in ("decode_tps", "e2e_s", "load_s", "first_call_s", "rss"):
        d = sec["metrics"][key]
        assert len(d["per_process"]) == 2 and d["between"]["n"] == 2
        assert d["between"]["ci95_low"] is not None  # two processes: a (wide) t interval
    assert sec["metrics"]["decode_tps"]["within_halfwidth"] is not None  # beside the between-process one
    assert any("2 processes" in w for w in data["warnings"])
    assert Path(data["run_dir"], "report.json").is_file()

    out = run_cli("report", data["run_dir"], "--csv", "-", tmp=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [r for r in csv.DictReader(io.StringIO(out.stdout)) if r["section"] == "processes"]
    assert {r["name"] for r in rows} >= {"decode_tps", "load_s", "rss"} and {r["n"] for r in rows} == {"2"}
    md = run_cli("report", data["run_dir"], "--md", "-", tmp=tmp_path)
    assert "between processes (unit: process)" in md.stdout

    with sqlite3.connect(tmp_path / "results.db") as db:
        got = dict(db.execute("SELECT name, n FROM measurements WHERE name LIKE 'processes.%'").fetchall())
    assert got.get("processes.decode_tps") == 2 and got.get("processes.load_s") == 2


def test_zero_processes_or_replicates_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for cmd in (("run", "--processes", "0"), ("sweep", "--replicates", "0", "--set", "max_new_tokens=4,6")):
        proc = run_cli(*cmd, *SMALL, "--output", str(tmp_path / "r"), tmp=tmp_path, timeout=120)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert "must be at least 1" in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()  # refused before anything was measured


def test_sweep_with_two_replicates_records_its_orders_and_resumes_a_replicate(tmp_path: Path) -> None:
    results = tmp_path / "results"
    args = ("sweep", "--quiet", "--json", "--replicates", "2", "--seed", "3", "--output", str(results), *SMALL)
    proc = run_cli(*args, "--set", "max_new_tokens=4,6", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    sweep = data["sweep"]
    rep = sweep["replication"]
    ids = [p["id"] for p in sweep["points"]]
    assert rep["replicates"] == 2 and rep["seed"] == 3 and rep["unit"] == "replicate"
    assert rep["orders"] == [order(ids, 3, 0), order(ids, 3, 1)]
    for p in sweep["points"]:
        assert p["status"] == "complete" and [r["status"] for r in p["replicates"]] == ["complete", "complete"]
        assert p["replicate_stats"]["decode_tps"]["n"] == 2
        assert p["replicate_stats"]["decode_tps"]["ci95_low"] is not None
        assert len({r["run_dir"] for r in p["replicates"]}) == 2  # each replicate its own run
    rows = sweep["effects"][0]["rows"]
    assert any("effect_ci" in r for r in rows)  # the non-baseline value: a CI of its change

    # a replicate left unfinished (as an interruption leaves it) is the only thing --resume measures
    folder = Path(data["run_dir"])
    report = json.loads((folder / "report.json").read_text())
    victim = report["sweep"]["points"][1]["replicates"][1]
    kept = report["sweep"]["points"][0]["replicates"][0]["run_dir"]
    victim.update(status="interrupted", error="interrupted", run_dir=None)
    (folder / "report.json").write_text(json.dumps(report))
    proc = run_cli("sweep", "--quiet", "--json", "--resume", str(folder), tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = json.loads(proc.stdout)["sweep"]
    assert again["replication"]["orders"] == rep["orders"]  # recomputed from the seed: the same
    assert again["points"][0]["replicates"][0]["run_dir"] == kept  # not measured again
    redone = again["points"][1]["replicates"][1]
    assert redone["status"] == "complete" and redone["run_dir"] is not None
    assert len(list((folder / "points" / again["points"][1]["id"] / "r2").iterdir())) == 2  # the old run and the new
