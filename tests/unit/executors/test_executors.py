"""Executors: option parsing, GPU needs, and the local executor's fresh processes (no model needed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from infermeter.errors import InfermeterError
from infermeter.executors import Task, make_executor
from infermeter.executors.base import gpus_for, parse_devices
from infermeter.executors.deliver import deliver
from infermeter.executors.local import LocalExecutor, check_devices
from infermeter.executors.work import probe
from infermeter.scenarios.run import measure


def test_devices_parse_as_ids_and_bad_ones_are_one_line() -> None:
    assert parse_devices("0,1") == [0, 1]
    assert parse_devices("cuda:0, cuda:3") == [0, 3]
    with pytest.raises(InfermeterError, match="not a GPU id"):
        parse_devices("gpu0")
    with pytest.raises(InfermeterError, match="listed twice"):
        parse_devices("1,1")


def test_a_gpu_this_host_lacks_is_refused() -> None:
    with pytest.raises(InfermeterError, match="cuda:7 does not exist, this host has 2 GPU"):
        check_devices([0, 7], 2)
    check_devices([0, 1], 2)


def test_gpu_needs_follow_the_config() -> None:
    assert gpus_for({"model": {"device": "cpu"}}) == 0
    assert gpus_for({"model": {"device": "cuda:0,cuda:1"}}) == 2
    assert (
        gpus_for({"model": {"device": "cuda"}, "engine": {"tensor_parallel_size": 2, "pipeline_parallel_size": 2}}) == 4
    )
    assert gpus_for({"model": {"device": "auto"}}) is None  # one GPU where there is one
    assert gpus_for({"backend": "openai", "model": {"device": "cuda"}}) == 0


def test_options_that_do_not_go_together_are_one_line() -> None:
    with pytest.raises(InfermeterError, match="--ray-address goes with --executor ray"):
        make_executor("local", address="auto")
    with pytest.raises(InfermeterError, match="unknown executor"):
        make_executor("slurm")


def test_without_ray_the_ray_executor_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without Ray looks like to import
    with pytest.raises(InfermeterError, match=r"pip install 'infermeter\[ray\]'"):
        make_executor("ray")


def test_a_task_needing_more_gpus_than_given_is_refused_before_anything_runs() -> None:
    ex = LocalExecutor(devices=[0])
    with pytest.raises(InfermeterError, match="needs 2 GPU"):
        list(ex.run([Task("a", probe, {}, gpus=2)]))


def test_concurrent_tasks_run_in_fresh_processes_and_their_files_come_back_to_the_driver(tmp_path: Path) -> None:
    ex = LocalExecutor(devices=[0, 1])  # on a CPU host: two slots, tasks ask no GPU
    tasks = [Task(f"t{i}", probe, {"key": f"t{i}", "sleep_s": 0.5, "run_dir": "/not/used"}, gpus=0) for i in range(3)]
    outcomes = list(ex.run(tasks))
    assert sorted(o.key for o in outcomes) == ["t0", "t1", "t2"]
    assert all(o.status == "complete" for o in outcomes)
    assert len({o.value["pid"] for o in outcomes}) == 3  # a fresh worker per task
    for o in outcomes:
        assert o.placement["executor"] == "local" and o.placement["attempts"] == 1
        assert set(o.files) == {"probe.jsonl"}  # written in the worker's scratch folder
        deliver(o, tmp_path)
    lines = [json.loads(x) for x in (tmp_path / "probe.jsonl").read_text().splitlines()]
    assert sorted(x["key"] for x in lines) == ["t0", "t1", "t2"]  # appended by the driver, none lost


def test_sequential_tasks_write_where_they_are_told(tmp_path: Path) -> None:
    ex = LocalExecutor()
    (out,) = list(ex.run([Task("a", probe, {"key": "a", "run_dir": str(tmp_path)})]))
    assert out.status == "complete" and out.files == {}
    assert json.loads((tmp_path / "probe.jsonl").read_text())["key"] == "a"


def test_a_task_that_raises_is_reported_with_its_reason_and_the_others_complete(tmp_path: Path) -> None:
    ex = LocalExecutor(devices=[0, 1])
    bad = Task("bad", measure, {"config": {"model": {"name": "x", "no_such_key": 1}}, "run_dir": str(tmp_path)})
    good = Task("good", probe, {"key": "good"})
    got = {o.key: o for o in ex.run([bad, good])}
    assert got["good"].status == "complete"
    assert got["bad"].status == "failed" and "no_such_key" in got["bad"].error and got["bad"].traceback
    with pytest.raises(Exception, match="no_such_key"):
        got["bad"].unwrap()


def test_each_compare_variant_visits_every_gpu_and_no_two_share_one_in_a_round() -> None:
    from infermeter.executors.rounds import visiting_gpu

    devices = [2, 3]
    seen = {v: [visiting_gpu(v, r, devices) for r in range(4)] for v in range(2)}
    assert seen == {0: [2, 3, 2, 3], 1: [3, 2, 3, 2]}
    for r in range(4):
        assert visiting_gpu(0, r, devices) != visiting_gpu(1, r, devices)


def test_a_pinned_task_waits_for_its_own_gpu() -> None:
    ex = LocalExecutor(devices=[0, 1])
    t = Task("a", probe, {}, gpus=1, pin=[1])
    assert ex._take(t, free=[0, 1], n_running=0, n_slots=2) == [1]
    assert ex._take(t, free=[0], n_running=1, n_slots=2) is None
    assert ex._take(Task("b", probe, {}, gpus=2), free=[0, 1], n_running=0, n_slots=2) == [0, 1]
    assert ex._take(Task("c", probe, {}, gpus=2), free=[1], n_running=1, n_slots=2) is None


def test_a_workers_gpus_are_renumbered_from_zero() -> None:
    from infermeter.executors.base import relative_devices

    def dev(payload: dict) -> str:
        return relative_devices(payload)["config"]["model"]["device"]

    assert dev({"config": {"model": {"device": "cuda:3"}}}) == "cuda:0"
    assert dev({"config": {"model": {"device": "cuda:2,cuda:3"}}}) == "cuda:0,cuda:1"
    assert dev({"config": {"model": {"device": "cuda"}}}) == "cuda"
    assert relative_devices({"key": "x"}) == {"key": "x"}
