"""End to end: `calibrate`, the roofline/energy rows of `run`, and `tune` on the tiny Qwen3 (CPU)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _cli(tmp: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m infermeter ARGS`` with a private cache and database; the whole group dies on timeout."""
    env = {**os.environ, "INFERMETER_DB": str(tmp / "results.db"), "INFERMETER_CACHE": str(tmp / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "infermeter", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp,
        env=env,
        start_new_session=True,  # workers of compare/tune are in the same group
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_calibrate_then_run_reports_roofline_and_energy(tmp_path: Path) -> None:
    first = _cli(tmp_path, "calibrate", "--device", "cpu", "--quick", "--repeats", "2")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "memory copy bandwidth" in first.stdout and "measured" in first.stdout
    again = _cli(tmp_path, "calibrate", "--device", "cpu", "--quick", "--json")
    assert json.loads(again.stdout)["copy_bandwidth"]["n"] == 2  # from the cache, not measured again
    proc = _cli(
        tmp_path,
        "run", "--model", "tiny-qwen3", "--workload", "synthetic", "--limit", "2", "--batch-size", "1",
        "--prompt-len", "16", "--max-new-tokens", "6", "--prompt-lens", "16", "--batch-sizes", "1,2",
        "--repeats", "2", "--set", "measure.max_repeats=2", "--set", "probe_output_len=6",
        "--set", "probe_prompt_len=16",
        "--json", "--output", str(tmp_path / "results"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = json.loads(proc.stdout)["metrics"]
    r = m["roofline"]
    assert r["geometry"]["layers"] == 2 and r["geometry"]["source"] == "loaded"
    # One value per measured batch of the dataset pass: 2 prompts at batch 1, the pass repeated twice.
    assert r["decode_bandwidth"]["n"] == 4 and r["mbu"]["mean"] > 0 and r["limit_tps_batch1"] > 0
    assert [p["batch_size"] for p in r["batches"]] == [1, 2]
    e = m["energy"]
    assert e["available"] or "not available on this machine" in e["reason"]


@pytest.mark.slow
def test_tune_ladder_on_cpu_writes_a_config_run_accepts(tmp_path: Path) -> None:
    best = tmp_path / "best.yaml"
    proc = _cli(
        tmp_path,
        "tune", "--model", "tiny-qwen3", "--workload", "synthetic", "--limit", "2", "--batch-size", "1",
        "--prompt-len", "16", "--max-new-tokens", "8", "--budget", "2m", "--candidates", "eager,bfloat16,batch",
        "--write-config", str(best), "--json", "--output", str(tmp_path / "results"),
        timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    t = json.loads(proc.stdout)["tune"]
    measured = [r for r in t["ranked"] if r["measured"]]
    assert len(measured) >= 3  # eager vs sdpa, bfloat16 vs float32, batch 4
    assert all(r["ci95_low"] <= r["speedup"] <= r["ci95_high"] for r in measured)
    assert all(r["accuracy"].startswith("not checked") for r in measured if r["changes_outputs"])
    assert best.is_file() and (tmp_path / "results").is_dir()
    run = _cli(
        tmp_path, "run", "--config", str(best), "--limit", "1", "--prompt-lens", "16", "--batch-sizes", "1",
        "--repeats", "1", "--set", "measure.max_repeats=1", "--json", "--output", str(tmp_path / "again"),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout)["config"]["model"] == t["best_config"]["model"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--budget", "10s"), "too small for one comparison"),
        (("--budget", "soon"), "--budget must be a duration"),
        (("--slo", "latency<1"), "--slo must be METRIC<VALUE"),
        (("--candidates", "flash"), "no candidate matches flash"),
    ],
)
def test_tune_bad_input_is_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    proc = _cli(tmp_path, "tune", "--model", "tiny-qwen3", "--workload", "synthetic", *args, timeout=300)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr
