"""`infermeter sweep` end to end on the tiny model: interrupted by SIGTERM after its first point,
resumed with --resume (the finished point is not measured again), with a point whose worker crashes
recorded while the sweep goes on. ~40 s: three points, each a real `run` in its own worker process,
is the least that shows interrupt, resume and a crash.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import run_cli
from .waits import FolderWatch

pytestmark = pytest.mark.integration

SMALL = ("--model", "tiny-qwen3", "--limit", "2", "--batch-size", "2", "--prompt-lens", "", "--batch-sizes", "")
SMALL += ("--set", "probe_prompt_len=16", "--set", "probe_output_len=6")


def _report(results: Path) -> tuple[Path, dict] | None:
    found = list(results.glob("*-sweep-*/report.json"))
    if not found:
        return None
    try:
        return found[0].parent, json.loads(found[0].read_text())
    except json.JSONDecodeError:  # written atomically, but be safe
        return None


def _wait(results: Path, ready, proc: subprocess.Popen, timeout: float = 180) -> tuple[Path, dict]:
    """The sweep's folder and report once ``ready(folder, report)`` (woken by each write, not a timer)."""

    def check() -> tuple[Path, dict] | None:
        got = _report(results)
        return got if got and ready(*got) else None

    with FolderWatch(results.parent) as watch:
        return watch.until(check, timeout, f"sweep state in {results}", proc=proc)


def _points(data: dict) -> dict:
    return {p["id"]: p for p in data["sweep"]["points"]}


def test_a_sweep_interrupted_after_its_first_point_resumes_without_measuring_it_again(tmp_path: Path) -> None:
    results = tmp_path / "results"
    grid = ("--design", "one-at-a-time", "--set", "max_new_tokens=4,8", "--set", "attn_implementation=sdpa,bogus")
    env = {**os.environ, "INFERMETER_DB": str(tmp_path / "results.db")}
    cmd = [sys.executable, "-m", "infermeter", "sweep", "--quiet", "--output", str(results), *SMALL, *grid]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:

        def second_measuring(folder: Path, data: dict) -> bool:
            # The event, not a delay: the second point's worker has written a whole record, so it is
            # measuring now (its remaining passes take far longer than the signal takes to arrive).
            files = (folder / "points" / "p02").glob("*/records.jsonl")
            return _points(data)["p01"]["status"] == "complete" and any(b"\n" in f.read_bytes() for f in files)

        folder, _ = _wait(results, second_measuring, proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker
    assert proc.returncode == 130, err[-2000:]
    assert f"infermeter sweep --resume {folder}" in err
    data = json.loads((folder / "report.json").read_text())
    assert data["status"] == "interrupted"
    first = _points(data)
    assert first["p01"]["status"] == "complete" and first["p01"]["metrics"]["decode_tps"] > 0
    assert first["p02"]["status"] == "interrupted" and first["p03"]["status"] == "pending"

    proc2 = run_cli("sweep", "--quiet", "--json", "--resume", str(folder), tmp=tmp_path)
    assert proc2.returncode == 0, proc2.stderr[-3000:]
    final = json.loads(proc2.stdout)
    assert final["status"] == "complete" and final["run_dir"] == str(folder)
    p = _points(final)
    # The finished point kept its run: one run folder, the same one, not measured again.
    assert p["p01"]["run_dir"] == first["p01"]["run_dir"]
    assert len([d for d in (folder / "points" / "p01").iterdir() if d.is_dir()]) == 1
    assert p["p01"]["metrics"] == first["p01"]["metrics"]
    assert p["p02"]["status"] == "complete" and p["p02"]["metrics"]["output_tokens"] > 0
    # The crashing point is recorded with its reason; the sweep went on and finished.
    assert p["p03"]["status"] == "failed" and "bogus" in p["p03"]["error"]
    assert p["p03"]["knobs"] == {"generation.max_new_tokens": 4, "model.attn_implementation": "bogus"}
    effects = {e["key"]: e for e in final["sweep"]["effects"]}
    tokens = effects["generation.max_new_tokens"]["rows"]
    assert [r["point"] for r in tokens] == ["p01", "p02"]
    assert tokens[1]["change"]["output_tokens"] > 0  # 8 new tokens allowed instead of 4
    assert [r["status"] for r in effects["model.attn_implementation"]["rows"]] == ["complete", "failed"]
    assert final["sweep"]["pareto"]["memory_vs_throughput"]["front"]
    assert any("1 of 3 points failed: p03" in w for w in final["warnings"])

    # Recorded in the results database as a sweep, with one value per metric of each measured point.
    from infermeter.results.store import ResultStore

    store = ResultStore(tmp_path / "results.db")
    (run,) = store.runs(kind="sweep")
    assert run["run_id"] == folder.name and run["status"] == "complete"
    names = set(store.measurements(run["run_id"]))
    assert "point[max_new_tokens=8,attn_implementation=sdpa].decode_tps" in names

    # The report command sees the sweep (not its points' runs) and exports its points.
    html = tmp_path / "sweep.html"
    proc3 = run_cli("report", str(folder), "--html", str(html), "--csv", "-", tmp=tmp_path)
    assert proc3.returncode == 0, proc3.stderr
    page = html.read_text()
    assert page.count('<section class="report"') == 1 and 'data-kind="sweep"' in page
    assert 'id="report-1-sweep-effects"' in page and 'id="report-1-sweep-pareto"' in page
    assert "point:p02 max_new_tokens=8" in proc3.stdout
    assert (folder / "points.csv").read_text().count("\n") == 4  # header + 3 points


def test_bad_grids_fail_with_one_line_before_any_model_loads(tmp_path: Path) -> None:
    proc = run_cli("sweep", "--quiet", "--set", "nonsense=1,2", tmp=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("infermeter: error: --set nonsense=1,2: unknown config key 'nonsense'")
    proc = run_cli("sweep", "--quiet", "--resume", str(tmp_path), tmp=tmp_path)
    assert proc.returncode == 2 and "no report.json there" in proc.stderr


def test_a_sweep_where_every_value_is_invalid_records_why_and_exits_non_zero(tmp_path: Path) -> None:
    proc = run_cli("sweep", "--json", "--output", str(tmp_path / "r"), "--set", "top_p=1.5,2", tmp=tmp_path)
    assert proc.returncode == 3, proc.stderr
    data = json.loads(proc.stdout)
    assert [p["status"] for p in data["sweep"]["points"]] == ["failed", "failed"]
    assert all("generation.top_p" in p["error"] for p in data["sweep"]["points"])
    assert "no point of the sweep could be measured" in proc.stderr
