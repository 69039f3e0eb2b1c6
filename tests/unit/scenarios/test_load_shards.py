"""``load --client-shards``: option checks (one line each), the records moved onto the driver's
timeline with their intervals intact, and the report's per-shard section and warnings."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from infermeter.backends.base import Generation, Prompt
from infermeter.cli import main
from infermeter.config import build_config
from infermeter.core.records import RequestRecord
from infermeter.core.skew import Skew
from infermeter.errors import InfermeterError
from infermeter.render.tables_load import load_extra_tables
from infermeter.scenarios.load import LoadRunner
from infermeter.scenarios.load_profiles import LoadOptions, Profile, concurrency_part
from infermeter.scenarios.load_shards import _ListSink, record_shift, shifted
from infermeter.scenarios.load_shards_report import planned_share, shard_warnings, shards_section


@pytest.mark.parametrize(
    ("kw", "line"),
    [
        ({"client_shards": 2}, "--client-shards needs --executor ray"),
        ({"ray_address": "h:1"}, "--ray-address goes with --executor ray"),
        ({"executor": "ray", "client_shards": 0}, "--client-shards must be >= 1"),
        ({"executor": "ray", "client_shards": 9}, "more shards than requests (--max-requests 8)"),
        ({"executor": "ray", "client_shards": 2, "client_procs": 2}, "not both"),
    ],
)
def test_bad_shard_options_are_one_line(kw: dict, line: str) -> None:
    with pytest.raises(InfermeterError, match=line.replace("(", r"\(").replace(")", r"\)")):
        LoadOptions(max_requests=8, **kw).validate()


def test_shards_within_the_request_limit_or_by_time_are_accepted() -> None:
    LoadOptions(max_requests=8, executor="ray", client_shards=8).validate()
    LoadOptions(duration_s=5, executor="ray", client_shards=64).validate()
    LoadOptions(max_requests=8, executor="ray").validate()  # one shard


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--client-shards", "2"], "--client-shards needs --executor ray"),
        (["--executor", "ray", "--client-shards", "0"], "--client-shards must be >= 1"),
        (["--executor", "ray", "--client-shards", "5"], "more shards than requests"),
        (["--executor", "ray", "--ray-address", "127.0.0.1:1"], "no Ray cluster reachable there"),
    ],
)
def test_the_cli_refuses_with_one_line_and_exit_2(args: list[str], line: str, tmp_path, capsys) -> None:
    argv = ["load", "--base-url", "http://127.0.0.1:9", "--max-requests", "4", "--output", str(tmp_path), *args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("infermeter: error: ") and line in err[0], err
    assert not any(tmp_path.iterdir())  # refused before a run folder was made


def test_without_ray_the_line_says_how_to_get_it(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    argv = ["load", "--base-url", "http://127.0.0.1:9", "--max-requests", "4", "--output", str(tmp_path)]
    assert main([*argv, "--executor", "ray", "--client-shards", "2"]) == 2
    assert "pip install 'infermeter[ray]'" in capsys.readouterr().err


def test_a_shards_records_move_by_one_constant_and_keep_their_intervals() -> None:
    skew = Skew(offset_s=30.0, uncertainty_s=0.001, rtt_s=0.002, rounds=8)
    # shard: wall = mono + 1000; driver: wall = mono + 5000; shard wall = driver wall + 30
    shift = record_shift(1000.0, skew, 5000.0)
    assert shift == pytest.approx(-4030.0)
    # An event at shard mono 100 is shard wall 1100 = driver wall 1070 = driver mono -3930.
    assert 100.0 + shift == pytest.approx(1100.0 - 30.0 - 5000.0)
    rec = RequestRecord("load-3", "load", 3, 1, 16, t_send=100.0, token_times=[100.25, 100.5, 101.0],
                        extra={"t_headers": 100.125, "send_lag_s": 0.002})  # fmt: skip
    moved = shifted(rec.to_dict(), 1, shift)
    assert moved.t_send == pytest.approx(100.0 + shift) and moved.extra["t_headers"] == pytest.approx(100.125 + shift)
    assert moved.token_times[0] - moved.t_send == pytest.approx(0.25)  # TTFT: the shard's own interval
    assert [b - a for a, b in zip(moved.token_times[:-1], moved.token_times[1:], strict=True)] == pytest.approx(
        [0.25, 0.5]
    )
    assert moved.extra["send_lag_s"] == 0.002 and moved.extra["shard"] == 1 and moved.extra["clock_shift_s"] == shift


def _rec(k: int, shard: int, point: int = 0, profile: str = "constant:5") -> RequestRecord:
    extra = {"shard": shard, "point": point, "profile": profile}
    return RequestRecord(f"load-{k}", "load", k, 1, 8, t_send=float(k), extra=extra)


def test_the_report_section_counts_each_shards_requests_against_its_plan() -> None:
    described = {
        "executor": "ray",
        "nodes": 1,
        "shards": [
            {"shard": i, "host": "h", "node_id": "n1", "clock_offset_s": 0.0, "clock_uncertainty_s": 1e-4,
             "rtt_s": 2e-4, "shares_node_with": [j for j in range(3) if j != i]}
            for i in range(3)
        ],
    }  # fmt: skip
    by_point = {0: [_rec(k, k % 3) for k in range(10)], 1: [_rec(10 + k, 0, 1, "synchronous") for k in range(10)]}
    sec = shards_section(described, by_point, LoadOptions(max_requests=10, profile="sweep"))
    assert [s["requests"] for s in sec["shards"]] == [[4, 10], [3, 0], [3, 0]]
    assert [s["requests_planned"] for s in sec["shards"]] == [[4, 10], [3, 0], [3, 0]]  # one slot: shard 0 sends
    assert planned_share(None, 0, 3) is None and planned_share(10, 2, 3) == 3
    (line,) = shard_warnings(sec)
    assert line.startswith("client shards 0, 1, 2 share one node")
    assert shards_section(None, by_point, LoadOptions(max_requests=10)) is None


def test_a_shared_start_in_the_future_delays_the_first_send_and_the_hard_stop() -> None:
    """A client given a start ahead (as every shard is) sends nothing before it, and ``--duration``
    counts from it: a request sent after "duration after the call" but within "duration after the start"
    completes instead of being cut."""

    async def request(prompt, params, force):  # noqa: ANN001, ANN202 - the runner's request signature
        t = time.perf_counter()
        await asyncio.sleep(0.5)
        return Generation(t, [time.perf_counter()], "x")

    async def main() -> tuple[float, list[RequestRecord]]:
        sink = _ListSink()
        opts = LoadOptions(max_requests=1, duration_s=2.0)
        runner = LoadRunner(request, [Prompt(ids=[1, 2])], build_config(None).generation, False, opts, sink,
                            time.perf_counter)  # fmt: skip
        # A deadline counted from the call (2 s) passes before the start (2.5 s); one counted from the start
        # (4.5 s) leaves the 0.5 s request 1.5 s of slack for a late event loop on a busy machine.
        start = time.perf_counter() + 2.5
        await runner.run_point(0, Profile("synchronous"), start, (0, 1))
        return start, sink.records

    start, (rec,) = asyncio.run(main())
    assert rec.t_send >= start
    assert rec.error is None and rec.phase == "load"  # not cut by a deadline counted from the call


def test_the_shards_table_shows_each_offset_with_its_uncertainty_and_counts() -> None:
    shard = {"shard": 0, "host": "a", "node_id": "n0abcdefgh", "clock_offset_s": -0.0012, "clock_uncertainty_s": 4e-4,
             "rtt_s": 8e-4, "shares_node_with": [], "requests": [20], "requests_planned": [20]}  # fmt: skip
    run = {"client_shards": {"executor": "ray", "nodes": 2, "nodes_used": 2, "shards": [shard, {**shard, "shard": 1}]}}
    (t,) = [t for t in load_extra_tables({"load_run": run}) if t.name == "shards"]
    assert t.rows[0] == ["0", "a", "n0abcdef", "-1.20+-0.40", "20", "20", "-"]
    assert "on 2 of 2 node(s)" in t.note


def test_fewer_slots_than_clients_still_sends_every_request_once() -> None:
    """A synchronous point over two clients (shards or processes): the first sends all of it."""
    assert concurrency_part(1, 0, 2) == (1, 1) and concurrency_part(1, 1, 2) == (1, 0)
    assert [concurrency_part(16, i, 3) for i in range(3)] == [(3, 6), (3, 5), (3, 5)]
    assert planned_share(10, 0, 2, slots=1) == 10 and planned_share(10, 1, 2, slots=1) == 0

    async def request(prompt, params, force):  # noqa: ANN001, ANN202 - the runner's request signature
        t = time.perf_counter()
        await asyncio.sleep(0)
        return Generation(t, [time.perf_counter()], "x")

    async def client(i: int) -> list[RequestRecord]:
        sink = _ListSink()
        runner = LoadRunner(request, [Prompt(ids=[1])], build_config(None).generation, False,
                            LoadOptions(max_requests=10), sink, time.perf_counter)  # fmt: skip
        await runner.run_point(0, Profile("synchronous"), None, (i, 2))
        return sink.records

    async def both() -> list[list[RequestRecord]]:
        return list(await asyncio.gather(client(0), client(1)))

    first, second = asyncio.run(both())
    assert sorted(r.batch_id for r in first) == list(range(10)) and second == []
