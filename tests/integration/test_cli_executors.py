"""`infermeter sweep --devices ...` end to end: tasks at once in fresh workers, the driver writing every
run, the interference check, and bad executor options as one clear line each.

On a host without GPUs the device ids are task slots (the tasks ask no GPU), so this runs on CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli

pytestmark = pytest.mark.integration

SMALL = ("--model", "tiny-qwen3", "--workload", "synthetic", "--limit", "4", "--batch-size", "1")
SMALL += ("--prompt-len", "8", "--prompt-lens", "", "--batch-sizes", "", "--repeats", "1")
SMALL += ("--set", "measure.max_repeats=1", "--set", "probe_prompt_len=8", "--set", "probe_output_len=3")


def test_a_sweep_over_two_slots_records_placement_and_the_interference_check(tmp_path: Path) -> None:
    proc = run_cli(
        "sweep", "--json", "--output", str(tmp_path / "r"), *SMALL, "--set", "max_new_tokens=3,4",
        "--devices", "0,1", "--check-interference", tmp=tmp_path, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    sweep = data["sweep"]
    assert sweep["executor"] == {"name": "local", "mode": "concurrent", "devices": [0, 1]}
    points = sweep["points"]
    assert [p["status"] for p in points] == ["complete", "complete"]
    assert len({p["placement"]["pid"] for p in points}) == 2  # a fresh worker each
    inter = sweep["interference"]
    assert inter["point"] == "p01" and inter["alone"]["status"] == "complete"
    assert inter["alone"]["run_dir"] != points[0]["run_dir"]
    assert inter["lines"][0].startswith("decode tok/s alongside vs alone")
    assert inter["metrics"]["decode_tps"]["n_alone"] == 4  # four calls of one request each

    import sqlite3

    db = sqlite3.connect(tmp_path / "results.db")  # the driver recorded the workers' records
    for run_dir in [inter["alone"]["run_dir"], *(p["run_dir"] for p in points)]:
        lines = (Path(run_dir) / "records.jsonl").read_text().splitlines()
        (n,) = db.execute("select count(*) from records where run_id = ?", (Path(run_dir).name,)).fetchone()
        assert n == len(lines) > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--devices", "gpu0"), "--devices gpu0: 'gpu0' is not a GPU id"),
        (("--check-interference",), "--check-interference goes with --executor ray or --devices"),
        (("--executor", "ray", "--devices", "0"), "--devices goes with --executor local"),
        (("--executor", "ray", "--ray-address", "127.0.0.1:9"), "--ray-address 127.0.0.1:9: no Ray cluster reachable"),
    ],
)
def test_bad_executor_options_are_one_line_and_measure_nothing(tmp_path: Path, args: tuple, message: str) -> None:
    if "ray" in args:
        pytest.importorskip("ray")
    proc = run_cli("sweep", "--output", str(tmp_path / "r"), *SMALL, "--set", "max_new_tokens=3,4", *args, tmp=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
