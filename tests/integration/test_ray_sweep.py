"""A sweep on a real local Ray cluster of two logical nodes (Ray's own ``cluster_utils``).

The 4-point sweep of the tiny model on Ray equals the sequential sweep (same configs, the same
greedy outputs); a Ray worker killed mid-sweep loses only its own point, which is reported as lost
with the reason, and ``--resume`` measures it. Each node has one CPU so the 2-core CI machine keeps up;
a few minutes: nine real runs in fresh processes.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from .waits import FolderWatch

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.serial]

SMALL = {
    "model.name": "tiny-qwen3",
    "workload.kind": "gsm8k",
    "workload.limit": 2,
    "workload.batch_size": 2,
    "measure.prompt_lens": [],
    "measure.batch_sizes": [],
    "measure.repeats": 1,
    "measure.max_repeats": 1,
    "measure.probe_prompt_len": 8,
    "measure.probe_output_len": 3,
}
GRID = {"max_new_tokens": [2, 3, 4, 5]}


class Killer(threading.Thread):
    """Kills the first Ray worker that starts an infermeter task after it was made.

    The event: as a task starts, its Ray worker writes ``:task_name:infermeter_task`` to its own log file,
    ``logs/worker-<id>-<job>-<pid>.out`` (the same folder for both logical nodes); the task then takes
    seconds (it loads a model), so the kill lands inside it. No delay decides anything."""

    MARK = ":task_name:infermeter_task"

    def __init__(self, logs: Path, timeout_s: float = 600) -> None:
        super().__init__(daemon=True)
        self.logs, self.timeout_s = logs, timeout_s
        self.watch = FolderWatch(logs)  # watching before the baseline is read: no start can slip between
        self.before = self._marks()
        self.killed: int | None = None
        self.stop = threading.Event()

    def _marks(self) -> dict[Path, int]:
        return {f: f.read_text(errors="replace").count(self.MARK) for f in self.logs.glob("worker-*.out")}

    def _task_began(self) -> int | bool:
        if self.stop.is_set():
            return True
        for f, n in self._marks().items():
            if n > self.before.get(f, 0):
                return int(f.stem.rsplit("-", 1)[1])  # a worker's log file ends with its pid
        return False

    def run(self) -> None:
        try:
            pid = self.watch.until(self._task_began, self.timeout_s, "a Ray worker starting an infermeter task")
        except TimeoutError:
            return
        if pid is not True:
            os.kill(pid, signal.SIGKILL)
            self.killed = pid

    def finish(self) -> None:
        """Stop waiting (if still waiting) and return once the thread has ended."""
        self.stop.set()
        self.watch.wake()
        self.join()
        self.watch.close()


def _outputs(entry: dict) -> list[tuple[str, str | None, int | None]]:
    rows = [json.loads(x) for x in (Path(entry["run_dir"]) / "records.jsonl").read_text().splitlines() if x.strip()]
    return [(r["request_id"], r["text"], r["output_tokens"]) for r in rows if r["phase"] == "dataset"]


def _by_label(report) -> dict:  # noqa: ANN001
    return {p["label"]: p for p in report.data["sweep"]["points"]}


def test_a_ray_sweep_equals_the_sequential_one_and_a_killed_worker_loses_only_its_point(
    tmp_path: Path, cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infermeter import api
    from infermeter.config import build_config
    from infermeter.executors.ray_exec import RayExecutor
    from infermeter.results.store import open_store

    monkeypatch.setenv("INFERMETER_DB", str(tmp_path / "results.db"))
    seq = api.sweep(build_config(None, {**SMALL, "output": str(tmp_path / "seq")}), GRID, progress=False)
    assert [p["status"] for p in seq.data["sweep"]["points"]] == ["complete"] * 4

    killer = Killer(Path(cluster.head_node.get_logs_dir_path()))
    killer.start()
    cfg = build_config(None, {**SMALL, "output": str(tmp_path / "ray")})
    first = api.sweep(cfg, GRID, progress=False, executor=RayExecutor(address=cluster.address, retries=0))
    killer.finish()
    assert killer.killed is not None, "no Ray worker was seen running a task"
    statuses = sorted(p["status"] for p in first.data["sweep"]["points"])
    assert statuses == ["complete", "complete", "complete", "lost"]
    lost = next(p for p in first.data["sweep"]["points"] if p["status"] == "lost")
    assert "lost" in lost["error"] and "WorkerCrashedError" in lost["error"]
    assert any("lost" in w and lost["id"] in w for w in first.data["warnings"])
    assert first.data["sweep"]["executor"]["nodes"] == 2

    folder = Path(first.data["run_dir"])
    again = api.sweep(resume=folder, progress=False, executor=RayExecutor(address=cluster.address))
    points = again.data["sweep"]["points"]
    assert [p["status"] for p in points] == ["complete"] * 4
    assert {p["placement"]["executor"] for p in points} == {"ray"}
    assert len({p["placement"]["node_id"] for p in points}) == 2  # both logical nodes measured points

    ref = _by_label(seq)
    for label, entry in _by_label(again).items():
        assert entry["config"] == {**ref[label]["config"], "output": entry["config"]["output"]}
        assert _outputs(entry) == _outputs(ref[label]), label  # greedy decoding: the same tokens
        assert all(text for _, text, _ in _outputs(entry))

    store = open_store()  # the driver alone recorded the Ray points: every record is in the database
    for entry in points:
        run_id = Path(entry["run_dir"]).name
        lines = (Path(entry["run_dir"]) / "records.jsonl").read_text().splitlines()
        assert store.get_run(run_id)["status"] == "complete"
        assert len(store.records(run_id)) == len(lines)


def test_compare_rounds_on_ray_come_back_whole(tmp_path: Path, cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    from infermeter import api
    from infermeter.executors.ray_exec import RayExecutor
    from infermeter.scenarios.compare import CompareOptions

    monkeypatch.setenv("INFERMETER_DB", str(tmp_path / "results.db"))
    base = {"model": {"name": "tiny-qwen3"}, "workload": {"kind": "synthetic", "batch_size": 1, "prompt_len": 8}}
    variants = [
        (n, {**base, "output": str(tmp_path), "generation": {"max_new_tokens": k}}) for n, k in (("a", 3), ("b", 5))
    ]
    opts = CompareOptions(rounds=2, max_rounds=2, calls=2)
    report = api.compare(variants, opts, progress=False, executor=RayExecutor(address=cluster.address))
    c = report.data["compare"]
    assert c["executor"]["name"] == "ray" and c["executor"]["nodes"] == 2
    for name in ("a", "b"):
        rounds = c["variants"][name]["rounds"]
        assert [r["round"] for r in rounds] == [0, 1]
        assert all(r["placement"]["executor"] == "ray" for r in rounds)
    rows = [json.loads(x) for x in Path(report.data["records_file"]).read_text().splitlines()]
    got = {(r["extra"]["variant"], r["extra"]["round"]) for r in rows}
    assert got == {("a", 0), ("a", 1), ("b", 0), ("b", 1)}  # every worker's records, appended by the driver


def test_a_task_needing_more_gpus_than_any_node_has_is_one_line(cluster) -> None:
    from infermeter.errors import InfermeterError
    from infermeter.executors.ray_exec import RayExecutor

    with pytest.raises(InfermeterError, match=r"needs 2 GPU\(s\), the largest node of the Ray cluster has 0"):
        RayExecutor(address=cluster.address).check([2])
