"""``load --executor ray --client-shards 2`` on a real local Ray cluster of two logical nodes (Ray's
own ``cluster_utils``) against the null server on loopback.

The shards land on different nodes (SPREAD placement), each sends its planned share of the seeded
schedule, and the driver's merged records equal a one-process run's with the same seed: the same
request ids and scheduled times. Each shard's clock offset is in the report; both nodes are on this
host, so the true offset is zero and must lie within the stated uncertainty (half the round trip).
A SIGTERM in the middle of a run finalizes the report as interrupted and stops the shards. Each node
has one CPU so the 2-core CI machine keeps up; starting Ray takes most of the time.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from .conftest import run_cli

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.serial]

FAST = ("--set", "tokenizer=qwen", "--prompt-len", "16", "--max-new-tokens", "16", "--quiet")
LOAD = ("--profile", "constant:20", "--max-requests", "40", "--seed", "5")


def _run(tmp: Path, url: str, *extra: str) -> tuple[dict, list[dict], str]:
    proc = run_cli("load", "--base-url", url, *LOAD, *FAST, "--output", "results", *extra, tmp=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (folder,) = (tmp / "results").iterdir()
    report = json.loads((folder / "report.json").read_text())
    recs = [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]
    return report, recs, proc.stdout


def test_two_shards_on_two_nodes_merge_exactly_and_report_their_clocks(tmp_path, null_server, cluster) -> None:
    srv = null_server("--tokens", "16", "--pace-ms", "2")
    (tmp_path / "one").mkdir()
    (tmp_path / "ray").mkdir()
    ref, ref_recs, _ = _run(tmp_path / "one", srv.url, "--client-procs", "1")
    report, recs, out = _run(tmp_path / "ray", srv.url, "--executor", "ray", "--client-shards", "2",
                             "--ray-address", cluster.address)  # fmt: skip

    assert len(recs) == len(ref_recs) == 40
    assert sorted(r["request_id"] for r in recs) == sorted(r["request_id"] for r in ref_recs)
    key = lambda r: r["batch_id"]  # noqa: E731
    assert [r["extra"]["scheduled_s"] for r in sorted(recs, key=key)] == [
        r["extra"]["scheduled_s"] for r in sorted(ref_recs, key=key)
    ]  # the one seeded schedule, partitioned
    assert all(r["error"] is None and len(r["token_times"]) == 16 for r in recs)
    assert {r["extra"]["shard"] for r in recs} == {0, 1}
    assert all(r["extra"]["shard"] == r["batch_id"] % 2 for r in recs)
    (p,) = report["load_run"]["points"]
    assert p["requests"]["sent"] == p["requests"]["ok"] == 40

    cs = report["load_run"]["client_shards"]
    assert cs["executor"] == "ray" and cs["nodes"] == 2 and cs["nodes_used"] == 2
    shards = cs["shards"]
    assert [s["shard"] for s in shards] == [0, 1]
    assert len({s["node_id"] for s in shards}) == 2 and all(s["shares_node_with"] == [] for s in shards)
    assert [s["requests"] for s in shards] == [s["requests_planned"] for s in shards] == [[20], [20]]
    for s in shards:  # both nodes are this host: the true offset is 0, within half the round trip
        assert s["skew_rounds"] == 8 and s["rtt_s"] > 0
        assert abs(s["clock_offset_s"]) <= s["clock_uncertainty_s"] == pytest.approx(s["rtt_s"] / 2)
    assert not any("share one node" in w for w in report["warnings"])
    assert "client shards" in out  # the console table

    db = sqlite3.connect(tmp_path / "ray" / "results.db")  # the driver alone wrote the database
    assert db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 40
    assert db.execute("SELECT kind, status FROM runs").fetchone() == ("load", "complete")


def _shard_actors() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if "ray::ShardClient" in " ".join(p.info["cmdline"] or [])]


def test_sigterm_mid_run_finalizes_the_report_and_stops_the_shards(tmp_path, null_server, cluster) -> None:
    """``ray.init`` installs its own SIGTERM handler (a stack dump, then death); the CLI's must win."""
    srv = null_server("--tokens", "16", "--pace-ms", "2", "--log-requests")
    cmd = [sys.executable, "-m", "infermeter", "load", "--base-url", srv.url, "--profile", "constant:5",
           "--duration", "10m", *FAST, "--output", "results", "--executor", "ray", "--client-shards", "2",
           "--ray-address", cluster.address]  # fmt: skip
    env = {**os.environ, "INFERMETER_DB": str(tmp_path / "results.db")}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        # The event: a measured request reached the server. The point starts only once every shard's actor
        # has opened and warmed its connections, so both actors are up now.
        assert srv.wait_requests(1, timeout_s=300), "no measured request reached the server"
        actors = _shard_actors()
        assert proc.poll() is None and len(actors) == 2, "the shards are not running"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-3000:]
    assert "SIGTERM received" not in err and "interrupted" in err
    (folder,) = (tmp_path / "results").iterdir()
    assert json.loads((folder / "report.json").read_text())["status"] == "interrupted"
    _, alive = psutil.wait_procs(actors, timeout=60)  # the driver killed its actors on the way out
    assert not alive
