"""`run` and `diff` end to end with units of analysis: passes for units, folders as inputs, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import TINY, run_cli, run_json

pytestmark = pytest.mark.integration


def _args(limit: int = 2) -> tuple[str, ...]:
    # TINY asks for --repeats 2 and at most 2 repeats: one batch of 2 per pass, so 2 passes
    return (*TINY, "--workload", "synthetic", "--limit", str(limit), "--batch-size", "2", "--max-new-tokens", "4",
            "--prompt-len", "8", "--batch-sizes", "", "--prompt-lens", "")  # fmt: skip


def test_one_batch_run_repeats_its_pass_and_diffs_by_folder(tmp_path: Path) -> None:
    a = run_json(*_args(), tmp=tmp_path)
    m = a["metrics"]
    assert m["requests"]["passes"] == 2  # the pass repeated: 2 units from one batch of 2
    assert m["ttft_s"]["n"] == 4 and m["ttft_s"]["units"] == 2 and m["ttft_s"]["ci95_low"] is not None
    assert m["output_throughput_passes"]["n"] == 2

    same = run_cli("diff", a["run_dir"], a["run_dir"], "--fail-on-regression", "5%", tmp=tmp_path)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "p_holm" in same.stdout and "Holm" in same.stdout
    assert "untestable: one measurement" in same.stdout  # load time, memory: one process each

    b = run_json(*_args(limit=4), tmp=tmp_path)  # another workload: not the same measurement
    other = run_cli("diff", a["run_dir"], b["run_dir"], tmp=tmp_path)
    assert other.returncode != 0 and "different workloads" in other.stderr
    assert "Traceback" not in other.stderr and len(other.stderr.strip().splitlines()) == 1


def test_bad_repeats_is_one_line(tmp_path: Path) -> None:
    proc = run_cli("run", *_args(), "--repeats", "0", tmp=tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
