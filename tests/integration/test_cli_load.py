"""`infermeter load` and `infermeter run --backend openai` end to end, against the null server on loopback."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .conftest import run_cli

FAST = ("--set", "tokenizer=qwen", "--prompt-len", "16", "--max-new-tokens", "16")


def _report(tmp: Path) -> dict:
    (path,) = (tmp / "results").glob("*/report.json")
    return json.loads(path.read_text())


def _records(tmp: Path) -> list[dict]:
    (path,) = (tmp / "results").glob("*/records.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_poisson_rate_is_achieved_and_records_are_on_disk(tmp_path, null_server):
    srv = null_server("--tokens", "16", "--pace-ms", "2")
    args = ("load", "--base-url", srv.url, "--profile", "poisson:40", "--max-requests", "120", "--seed", "1")
    proc = run_cli(*args, *FAST, "--warmup", "5%", "--slo", "ttft=1s,tpot=1s", "--output", "results", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "poisson:40" in proc.stdout and "goodput" in proc.stdout
    (p,) = _report(tmp_path)["load_run"]["points"]
    assert p["requests"]["sent"] == 120 and p["requests"]["ok"] == p["requests"]["measured"] == 114
    assert abs(p["scheduled_rate"] / 40 - 1) < 0.25  # the seeded schedule has the asked rate (n = 114)
    assert p["goodput"]["fraction"] == 1.0
    recs = _records(tmp_path)
    # The client keeps to the schedule's order (how late a send is, is the machine's business:
    # benchmarks/client_capacity.py measures the client's own lag).
    sends = [r["t_send"] for r in sorted(recs, key=lambda r: r["extra"]["scheduled_s"])]
    assert sends == sorted(sends)
    assert len(recs) == 120 and all(len(r["token_times"]) == 16 for r in recs)
    assert all(r["extra"]["usage"]["completion_tokens"] == 16 == r["extra"]["retokenized_tokens"] for r in recs)
    db = sqlite3.connect(tmp_path / "results.db")
    assert db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 120
    assert db.execute("SELECT kind, status FROM runs").fetchone() == ("load", "complete")


def test_concurrency_is_respected(tmp_path, null_server):
    srv = null_server("--tokens", "16", "--pace-ms", "5")
    args = ("load", "--base-url", srv.url, "--profile", "concurrent:4", "--max-requests", "24", "--quiet")
    proc = run_cli(*args, *FAST, "--output", "results", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = sorted(
        [(r["t_send"], 1) for r in _records(tmp_path)] + [(r["token_times"][-1], -1) for r in _records(tmp_path)]
    )
    level, peak = 0, 0
    for _, d in events:
        level += d
        peak = max(peak, level)
    assert peak == 4


def test_faults_are_counted_per_reason_and_max_errors_stops_the_run(tmp_path, null_server):
    srv = null_server("--tokens", "16", "--pace-ms", "1", "--fault", "http500", "--fault-every", "3")
    args = ("load", "--base-url", srv.url, "--profile", "synchronous", "--max-requests", "100", "--max-errors", "3")
    proc = run_cli(*args, *FAST, "--output", "results", tmp=tmp_path)
    assert proc.returncode == 4, proc.stderr[-2000:]
    report = _report(tmp_path)
    assert report["status"] == "partial"
    lr = report["load_run"]
    assert lr["errors_by_reason"] == {"HTTP 500: internal error (null server fault)": 3}
    assert "--max-errors" in lr["stopped"]
    recs = _records(tmp_path)
    assert len(recs) == 9 and sum(r["error"] is not None for r in recs) == 3  # stopped at the third error
    assert "3 x HTTP 500" in proc.stdout


def test_api_key_never_reaches_report_db_or_output(tmp_path, null_server):
    key = "sk-infermeter-test-0123456789abcdef"
    srv = null_server("--tokens", "8", "--pace-ms", "0", "--require-key-env", "NULL_KEY", env={"NULL_KEY": key})
    args = ("load", "--base-url", srv.url, "--max-requests", "5", "--api-key", key, "--json")
    ok = run_cli(*args, *FAST, "--output", "results", tmp=tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert _report(tmp_path)["load_run"]["points"][0]["requests"]["ok"] == 5
    # A wrong key is echoed back by the server (as some real servers do): the error must not repeat it.
    bad = run_cli(*args[:-3], "--api-key", key[::-1], *FAST, "--output", "results2", tmp=tmp_path)
    assert bad.returncode == 4
    texts = [ok.stdout, ok.stderr, bad.stdout, bad.stderr]
    texts += [p.read_text() for p in tmp_path.rglob("*.json*")]
    texts.append((tmp_path / "results.db").read_bytes().decode("latin-1"))
    assert all(key not in t and key[::-1] not in t for t in texts)
    assert "HTTP 401: Incorrect API key provided: '***'" in bad.stdout


def test_unreachable_server_is_one_line(tmp_path):
    from infermeter.servers.null import free_port

    proc = run_cli("load", "--base-url", f"http://127.0.0.1:{free_port()}", "--max-requests", "2", *FAST, tmp=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].endswith("connection refused")


def test_run_backend_openai_measures_a_server(tmp_path, null_server):
    srv = null_server("--tokens", "12", "--pace-ms", "3", "--ttft-ms", "20")
    args = ("run", "--backend", "openai", "--base-url", srv.url, "--workload", "synthetic", "--limit", "4")
    proc = run_cli(*args, *FAST, "--prompt-lens", "", "--batch-sizes", "1,2", "--json", "--output", "results",
                   tmp=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = json.loads(proc.stdout)["metrics"]
    assert m["requests"]["ok"] == 4 and m["requests"]["output_tokens"] == 48
    # Lower bounds only: the server waits 20 ms before the first token and 3 ms between tokens, so
    # nothing can arrive sooner; how much later depends on the machine's load (not a test's business).
    assert m["ttft_s"]["median"] > 0.019
    assert m["tpot_s"]["median"] > 0.0025
