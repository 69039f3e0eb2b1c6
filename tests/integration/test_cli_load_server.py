"""`infermeter load` beyond one client: server metrics, the client's own lag, the SLO search and
--client-procs, end to end against the null server on loopback (vLLM's and llama.cpp's in test_servers.py)."""

from __future__ import annotations

import json
from pathlib import Path

from infermeter.scenarios.load_profiles import Profile, schedule

from .conftest import run_cli

FAST = ("--set", "tokenizer=qwen", "--prompt-len", "16", "--max-new-tokens", "16", "--output", "results")


def _run(tmp: Path) -> tuple[dict, list[dict]]:
    (d,) = (tmp / "results").glob("*/report.json")
    recs = [json.loads(line) for line in (d.parent / "records.jsonl").read_text().splitlines()]
    return json.loads(d.read_text()), recs


def test_server_metrics_client_lag_and_warm_pool(tmp_path, null_server):
    srv = null_server("--tokens", "16", "--pace-ms", "20")
    args = ("load", "--base-url", srv.url, "--profile", "concurrent:4", "--max-requests", "24", "--quiet")
    proc = run_cli(*args, *FAST, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report, recs = _run(tmp_path)
    lr = report["load_run"]
    sm = lr["server_metrics"]
    assert sm["available"] and sm["url"] == srv.url + "/metrics" and sm["samples"] >= 2
    assert {"running", "waiting", "kv_cache_usage", "prefix_cache_queries_total"} <= set(sm["metrics"])
    # The final sample comes after the last request: the server's token counter saw every token sent.
    gen = sm["series"]["generation_tokens_total"]
    assert gen[-1] - gen[0] == sum(len(r["token_times"]) for r in recs) == 24 * 16
    assert sm["points"][0]["running"]["max"] <= 4
    assert (tmp_path / "results").glob("*/server_metrics.jsonl")
    assert lr["connections_warmed"] == 4
    assert all(isinstance(r["extra"]["send_lag_s"], float) and r["extra"]["t_headers"] >= r["t_send"] for r in recs)
    assert lr["points"][0]["client"]["send_lag_s"]["n"] == 24
    assert lr["timeline"]["points"][0]["profile"] == "concurrent:4" and len(lr["timeline"]["requests"]) == 24


def test_a_server_without_metrics_is_a_warning_and_records_are_kept(tmp_path, null_server):
    srv = null_server("--tokens", "8", "--pace-ms", "0", "--no-metrics")
    args = ("load", "--base-url", srv.url, "--max-requests", "5")
    proc = run_cli(*args, *FAST, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report, recs = _run(tmp_path)
    assert len(recs) == 5 and report["status"] == "complete"
    assert report["load_run"]["server_metrics"]["available"] is False
    assert "exposes no metrics" in proc.stdout and "HTTP 404" in proc.stdout


def test_slo_search_runs_its_points(tmp_path, null_server):
    srv = null_server("--tokens", "16", "--pace-ms", "2")
    base = ("load", "--base-url", srv.url, "--profile", "slo-search", "--max-requests", "12", "--quiet")
    # E2E is at least 15 x 2 ms: an SLO of 1 ms is never met, so the search uses its whole budget.
    proc = run_cli(*base, "--max-concurrency", "4", "--slo", "e2e=1ms", "--search-points", "3", *FAST, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report, recs = _run(tmp_path)
    s = report["load_run"]["slo_search"]
    assert [p["profile"].split(":")[0] for p in s["points"]] == ["throughput", "poisson", "poisson"]
    assert s["best_rate"] is None and "no rate tried meets" in s["note"] and len(recs) == 36
    assert all(p["attainment"] == 0 and p["attainment_ci95"][1] < 0.3 for p in s["points"])
    assert "SLO search" in proc.stdout or "slo" in json.dumps(report["load_run"])


def test_slo_search_refuses_without_slo(tmp_path, null_server):
    srv = null_server()
    proc = run_cli("load", "--base-url", srv.url, "--profile", "slo-search", "--max-requests", "5", tmp=tmp_path)
    assert proc.returncode == 2 and "needs --slo" in proc.stderr and "Traceback" not in proc.stderr


def test_client_procs_partition_the_schedule_and_merge_exactly(tmp_path, null_server):
    srv = null_server("--tokens", "16", "--pace-ms", "2")
    args = ("load", "--base-url", srv.url, "--profile", "poisson:50", "--max-requests", "40", "--seed", "3")
    proc = run_cli(*args, "--client-procs", "2", "--quiet", *FAST, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report, recs = _run(tmp_path)
    assert sorted(r["batch_id"] for r in recs) == list(range(40))  # none lost, none twice
    assert len({r["request_id"] for r in recs}) == 40
    want = schedule(Profile("poisson", 50.0), 40, 3).tolist()  # the one-process schedule, unchanged
    assert [r["extra"]["scheduled_s"] for r in sorted(recs, key=lambda r: r["batch_id"])] == want
    (p,) = report["load_run"]["points"]
    assert p["requests"]["sent"] == p["requests"]["ok"] == 40
    assert report["load_run"]["connections_warmed"] == 64  # 32 per process


def test_client_procs_split_a_concurrency(tmp_path, null_server):
    srv = null_server("--tokens", "16", "--pace-ms", "5")
    args = ("load", "--base-url", srv.url, "--profile", "concurrent:3", "--max-requests", "18", "--client-procs", "2")
    proc = run_cli(*args, "--quiet", *FAST, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    _, recs = _run(tmp_path)
    assert sorted(r["batch_id"] for r in recs) == list(range(18))
    events = sorted([(r["t_send"], 1) for r in recs] + [(r["token_times"][-1], -1) for r in recs])
    level = peak = 0
    for _, d in events:
        level += d
        peak = max(peak, level)
    assert peak <= 3
