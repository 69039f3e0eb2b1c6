"""The results database: round trip with a real report, history filters, prefix lookup, idempotent
finish, several writing processes, and migration from an older schema."""

from __future__ import annotations

import copy
import json
import multiprocessing
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infermeter.errors import InfermeterError
from infermeter.results.store import SCHEMA_VERSION, ResultStore, default_db_path, measurements_from_report, run_id_for

# A trimmed real report (`infermeter run --model tiny-qwen3 --workload synthetic --limit 4 --batch-size 2
# --prompt-lens 16,64 --batch-sizes 1,2` on CPU): four dataset requests, three context and three batch
# requests with four output tokens each; its metrics were recomputed from exactly these records.
REPORT: dict[str, Any] = {
    "schema_version": 1,
    "kind": "run",
    "status": "complete",
    "error": None,
    "run_dir": "/results/20261121-094115-tiny-qwen3",
    "config": {
        "backend": "hf",
        "model": {"name": "tiny-qwen3", "device": "auto"},
        "workload": {"kind": "synthetic", "limit": 4, "batch_size": 2},
    },
    "environment": {
        "infermeter": "0.1.0",
        "git_sha": "a7a78e1ca3b5",
        "time_utc": "2026-11-21T09:42:23+00:00",
        "cuda": {"available": False},
    },
    "load": {"model": "tiny-qwen3", "device": "cpu", "load_s": 4.955669424000007, "weights_bytes": 39192064},
    "first_call": {"first_call_s": 0.432207, "steady_call_s": 0.753178, "overhead_s": -0.320971},
    "metrics": {
        "requests": {"total": 4, "ok": 4, "errors": 0, "short_outputs": 0, "prompt_tokens": 512, "output_tokens": 16},
        "ttft_s": {
            "n": 4,
            "units": 2,  # two generate() calls of two requests
            "mean": 0.311743,
            "median": 0.311743,
            "p90": 0.558388,
            "p99": 0.558388,
            "stdev": 0.284802,
            "ci95_low": -0.141441,
            "ci95_high": 0.764926,
        },
        "tpot_s": {
            "n": 4,
            "mean": 0.101312,
            "median": 0.101312,
            "p90": 0.136086,
            "p99": 0.136086,
            "stdev": 0.040153,
            "ci95_low": 0.037419,
            "ci95_high": 0.165205,
        },
        "itl_s": {
            "n": 12,
            "mean": 0.101312,
            "median": 0.072261,
            "p90": 0.195582,
            "p99": 0.200996,
            "stdev": 0.056443,
            "ci95_low": 0.06545,
            "ci95_high": 0.137174,
        },
        "e2e_s": {
            "n": 4,
            "mean": 0.615678,
            "median": 0.615678,
            "p90": 0.966645,
            "p99": 0.966645,
            "stdev": 0.405262,
            "ci95_low": -0.029184,
            "ci95_high": 1.26054,
        },
        "decode_tps": {
            "n": 2,
            "mean": 22.377318,
            "median": 22.377318,
            "p90": 28.521873,
            "p99": 29.904398,
            "stdev": 10.862141,
            "ci95_low": -75.215146,
            "ci95_high": 119.969783,
        },
        "stream_tps": 9.870515,
        "output_throughput": 8.322782,
        "context_load": {
            "points": [
                {
                    "prompt_tokens": 16,
                    "ttft": {
                        "n": 3,
                        "mean": 0.017089,
                        "median": 0.014245,
                        "p90": 0.021161,
                        "p99": 0.022717,
                        "stdev": 0.005024,
                        "ci95_low": 0.004608,
                        "ci95_high": 0.02957,
                    },
                    "prefill_tokens_per_s": 936.274797,
                }
            ]
        },
        "batch_efficiency": {
            "points": [
                {
                    "batch_size": 1,
                    "efficiency": 1.0,
                    "throughput": {
                        "n": 3,
                        "mean": 30.385156,
                        "median": 23.192439,
                        "p90": 47.289232,
                        "p99": 52.71101,
                        "stdev": 20.310695,
                        "ci95_low": -20.069406,
                        "ci95_high": 80.839719,
                    },
                    "decode_tps": {
                        "n": 3,
                        "mean": 35.867126,
                        "median": 30.137729,
                        "p90": 51.242316,
                        "p99": 55.990848,
                        "stdev": 18.465752,
                        "ci95_low": -10.004344,
                        "ci95_high": 81.738596,
                    },
                }
            ],
            "knee_batch_size": None,
        },
        "accuracy": None,
        "memory": {
            "weights_bytes": 39192064,
            "phases": {
                "dataset": {
                    "rss": 647528448,
                    "rss_method": "vmhwm",
                    "torch_allocated": None,
                    "torch_reserved": None,
                    "nvml_process": None,
                }
            },
            "peak": {
                "rss": 647528448,
                "rss_method": "vmhwm",
                "torch_allocated": None,
                "torch_reserved": None,
                "nvml_process": None,
            },
        },
    },
    "warnings": [],
    "records": [
        {
            "request_id": "dataset-4-0",
            "phase": "dataset",
            "batch_id": 4,
            "batch_size": 2,
            "prompt_tokens": 128,
            "t_send": 6025.093488,
            "token_times": [6025.158585, 6025.233353, 6025.288445, 6025.358199],
            "target_output_tokens": 4,
            "repeat": 0,
            "output_tokens": 4,
        },
        {
            "request_id": "dataset-4-1",
            "phase": "dataset",
            "batch_id": 4,
            "batch_size": 2,
            "prompt_tokens": 128,
            "t_send": 6025.093488,
            "token_times": [6025.158585, 6025.233353, 6025.288445, 6025.358199],
            "target_output_tokens": 4,
            "repeat": 0,
            "output_tokens": 4,
        },
        {
            "request_id": "dataset-5-0",
            "phase": "dataset",
            "batch_id": 5,
            "batch_size": 2,
            "prompt_tokens": 128,
            "t_send": 6026.049277,
            "token_times": [6026.607665, 6026.754524, 6026.814926, 6027.015922],
            "target_output_tokens": 4,
            "repeat": 0,
            "output_tokens": 4,
        },
        {
            "request_id": "dataset-5-1",
            "phase": "dataset",
            "batch_id": 5,
            "batch_size": 2,
            "prompt_tokens": 128,
            "t_send": 6026.049277,
            "token_times": [6026.607665, 6026.754524, 6026.814926, 6027.015922],
            "target_output_tokens": 4,
            "repeat": 0,
            "output_tokens": 4,
        },
        {
            "request_id": "context-7-0",
            "phase": "context",
            "batch_id": 7,
            "batch_size": 1,
            "prompt_tokens": 16,
            "t_send": 6027.635674,
            "token_times": [6027.658564, 6027.684179, 6027.697671, 6027.711188],
            "target_output_tokens": 4,
            "repeat": 0,
            "output_tokens": 4,
        },
        {
            "request_id": "context-8-0",
            "phase": "context",
            "batch_id": 8,
            "batch_size": 1,
            "prompt_tokens": 16,
            "t_send": 6027.781462,
            "token_times": [6027.795707, 6027.867023, 6027.973154, 6027.986393],
            "target_output_tokens": 4,
            "repeat": 1,
            "output_tokens": 4,
        },
        {
            "request_id": "context-9-0",
            "phase": "context",
            "batch_id": 9,
            "batch_size": 1,
            "prompt_tokens": 16,
            "t_send": 6028.109795,
            "token_times": [6028.123927, 6028.145721, 6028.15888, 6028.204477],
            "target_output_tokens": 4,
            "repeat": 2,
            "output_tokens": 4,
        },
        {
            "request_id": "batch-29-0",
            "phase": "batch",
            "batch_id": 29,
            "batch_size": 1,
            "prompt_tokens": 64,
            "t_send": 6042.754961,
            "token_times": [6042.7842, 6042.885065, 6042.913872, 6042.927431],
            "target_output_tokens": 4,
            "repeat": 0,
            "output_tokens": 4,
        },
        {
            "request_id": "batch-30-0",
            "phase": "batch",
            "batch_id": 30,
            "batch_size": 1,
            "prompt_tokens": 64,
            "t_send": 6043.50922,
            "token_times": [6043.531168, 6043.552768, 6043.56617, 6043.584248],
            "target_output_tokens": 4,
            "repeat": 1,
            "output_tokens": 4,
        },
        {
            "request_id": "batch-31-0",
            "phase": "batch",
            "batch_id": 31,
            "batch_size": 1,
            "prompt_tokens": 64,
            "t_send": 6044.227425,
            "token_times": [6044.400927, 6044.4418, 6044.455191, 6044.50047],
            "target_output_tokens": 4,
            "repeat": 2,
            "output_tokens": 4,
        },
    ],
}

RUN_ID = "20261121-094115-tiny-qwen3"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ResultStore]:
    s = ResultStore(tmp_path / "results.db")
    yield s
    s.close()


def _batches(records: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [records[i : i + size] for i in range(0, len(records), size)]


def test_default_path_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INFERMETER_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("INFERMETER_DB")
    assert default_db_path() == Path.home() / ".infermeter" / "results.db"


def test_round_trip_begin_append_finish(store: ResultStore) -> None:
    assert run_id_for(REPORT) == RUN_ID
    store.begin_run(RUN_ID, "run", REPORT["config"], REPORT["environment"], "/results/x/report.json")
    assert store.get_run(RUN_ID)["status"] == "running"
    for batch in _batches(REPORT["records"], 2):  # as RecordSink would, one call per generate()
        store.append_records(RUN_ID, batch)
    assert store.records(RUN_ID) == REPORT["records"]  # arrival order, content intact
    store.finish_run(RUN_ID, REPORT)

    run = store.get_run(RUN_ID)
    assert run["status"] == "complete"
    assert (run["kind"], run["model"], run["device"], run["backend"]) == ("run", "tiny-qwen3", "cpu", "hf")
    assert run["git_sha"] == "a7a78e1ca3b5"
    assert run["config"] == REPORT["config"]
    assert run["environment"] == REPORT["environment"]
    assert run["report_path"] == "/results/x/report.json"

    meas = store.measurements(RUN_ID)
    m = REPORT["metrics"]
    assert meas["decode_tps"]["value"] == pytest.approx(m["decode_tps"]["mean"])
    assert meas["decode_tps"]["unit"] == "tok/s"
    # 4 requests in 2 batches: the samples a diff tests are the 2 batch means, not the 4 requests
    assert meas["ttft_s"]["n"] == 4 and len(meas["ttft_s"]["samples"]) == 2
    assert sum(meas["ttft_s"]["samples"]) / 2 == pytest.approx(m["ttft_s"]["mean"], rel=1e-4)
    assert meas["context.ttft_s@16"]["n"] == 3 and len(meas["context.ttft_s@16"]["samples"]) == 3
    assert meas["batch.throughput@1"]["value"] == pytest.approx(
        m["batch_efficiency"]["points"][0]["throughput"]["mean"]
    )
    assert meas["batch.efficiency@1"]["value"] == 1.0
    assert meas["memory.peak.rss"]["value"] == m["memory"]["peak"]["rss"]
    assert meas["output_throughput"]["n"] == 1 and meas["output_throughput"]["samples"] == []
    assert meas["first_call_s"]["value"] == pytest.approx(0.432207)
    assert {"load_s", "itl_s", "e2e_s", "tpot_s", "batch.decode_tps@1", "context.prefill_tps@16"} <= set(meas)


def test_finish_is_idempotent(store: ResultStore) -> None:
    store.begin_run(RUN_ID, "run", REPORT["config"], REPORT["environment"], None)
    store.append_records(RUN_ID, REPORT["records"])
    store.finish_run(RUN_ID, REPORT)
    first = store.measurements(RUN_ID)
    store.finish_run(RUN_ID, REPORT)
    assert store.measurements(RUN_ID) == first
    assert len(store.records(RUN_ID)) == len(REPORT["records"])  # not appended twice
    failed = {**copy.deepcopy(REPORT), "status": "failed"}
    store.finish_run(RUN_ID, failed)
    assert store.get_run(RUN_ID)["status"] == "failed"
    assert len(store.runs()) == 1


def test_finish_without_begin_imports_the_report(store: ResultStore) -> None:
    store.finish_run(RUN_ID, REPORT)
    run = store.get_run(RUN_ID)
    assert (run["kind"], run["status"], run["model"]) == ("run", "complete", "tiny-qwen3")
    assert run["created_utc"] == "2026-11-21T09:42:23+00:00"
    assert run["report_path"] == "/results/20261121-094115-tiny-qwen3/report.json"
    assert store.records(RUN_ID) == REPORT["records"]


def test_records_before_begin_are_kept(store: ResultStore) -> None:
    store.append_records(RUN_ID, REPORT["records"][:2])  # the worker can be faster than the parent
    store.begin_run(RUN_ID, "run", REPORT["config"], REPORT["environment"], None)
    store.append_records(RUN_ID, REPORT["records"][2:])
    assert store.records(RUN_ID) == REPORT["records"]
    assert store.get_run(RUN_ID)["kind"] == "run"


def _add(store: ResultStore, run_id: str, kind: str, model: str, created: str, status: str = "complete") -> None:
    store.begin_run(run_id, kind, {"backend": "hf", "model": {"name": model, "device": "cpu"}}, {}, None)
    store.conn.execute("UPDATE runs SET created_utc = ?, status = ? WHERE run_id = ?", (created, status, run_id))


def test_history_filters(store: ResultStore) -> None:
    _add(store, "20261101-100000-qwen3-1.7b", "run", "qwen3-1.7b", "2026-11-01T10:00:00+00:00")
    _add(store, "20261102-100000-compare-a-vs-b", "compare", "qwen3-1.7b", "2026-11-02T10:00:00+00:00")
    _add(store, "20261103-100000-smollm2", "run", "smollm2-135m", "2026-11-03T10:00:00+00:00", "failed")
    _add(store, "20261104-100000-soak", "soak", "qwen3-8b", "2026-11-04T10:00:00+00:00")
    ids = lambda rows: [r["run_id"][:8] for r in rows]  # noqa: E731
    assert ids(store.runs()) == ["20261104", "20261103", "20261102", "20261101"]  # newest first
    assert ids(store.runs(kind="run")) == ["20261103", "20261101"]
    assert ids(store.runs(model="QWEN3-1.7")) == ["20261102", "20261101"]  # substring, any case
    assert ids(store.runs(status="failed")) == ["20261103"]
    assert ids(store.runs(since="2026-11-02T10:00")) == ["20261104", "20261103", "20261102"]
    assert ids(store.runs(since="2026-11-03", kind="run")) == ["20261103"]
    assert ids(store.runs(limit=2)) == ["20261104", "20261103"]
    assert store.runs(kind="nothing") == []
    with pytest.raises(InfermeterError, match="bad time"):
        store.runs(since="yesterday")


def test_prefix_lookup(store: ResultStore) -> None:
    for rid in ("20261101-100000-qwen3", "20261101-110000-qwen3", "20261102-090000-smol_x", "20261102-090000"):
        store.begin_run(rid, "run", {}, {}, None)
    assert store.get_run("20261101-11")["run_id"] == "20261101-110000-qwen3"
    assert store.get_run("20261102-090000")["run_id"] == "20261102-090000"  # an exact id beats its prefixes
    assert store.get_run("20261102-090000-smol_")["run_id"] == "20261102-090000-smol_x"  # "_" is no wildcard
    with pytest.raises(InfermeterError, match="matches 2 runs"):
        store.get_run("20261101")
    with pytest.raises(InfermeterError, match="no run matches"):
        store.get_run("2025")
    with pytest.raises(InfermeterError, match="no run matches"):
        store.get_run("20261101_1")


# -- several processes ---------------------------------------------------------------------------------
N_RECORDS, BATCH = 500, 10


def _writer(path: str, name: str, start: Any) -> None:
    """One process: its own connection, 500 records in batches of 10 to its run and to a shared one."""
    store = ResultStore(path)  # opened here, racing the other writer to create and migrate the file
    start.wait()
    store.begin_run(f"own-{name}", "run", {}, {}, None)
    for b in range(0, N_RECORDS, BATCH):
        batch = [{"phase": "dataset", "batch_id": b // BATCH, "writer": name, "i": i} for i in range(b, b + BATCH)]
        store.append_records(f"own-{name}", batch)
        store.append_records("shared", batch)
    store.finish_run(f"own-{name}", {"kind": "run", "status": "complete", "run_dir": f"/r/own-{name}"})
    store.close()


def test_concurrent_writers_from_two_processes_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "results.db")
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(path, name, start)) for name in ("a", "b")]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]

    store = ResultStore(path)
    for name in ("a", "b"):
        recs = store.records(f"own-{name}")
        assert [r["i"] for r in recs] == list(range(N_RECORDS))
        assert {r["writer"] for r in recs} == {name}
        assert store.get_run(f"own-{name}")["status"] == "complete"
    shared = store.records("shared")
    assert len(shared) == 2 * N_RECORDS
    for name in ("a", "b"):  # each writer's records all there, in its own order
        assert [r["i"] for r in shared if r["writer"] == name] == list(range(N_RECORDS))
    seqs = [row[0] for row in store.conn.execute("SELECT seq FROM records WHERE run_id = 'shared' ORDER BY seq")]
    assert seqs == list(range(2 * N_RECORDS))
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


# -- migrations ----------------------------------------------------------------------------------------
V1_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE runs (run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, created_utc TEXT NOT NULL, model TEXT, device TEXT,
                   backend TEXT, git_sha TEXT, config_json TEXT, environment_json TEXT, report_path TEXT);
CREATE TABLE records (run_id TEXT NOT NULL, seq INTEGER NOT NULL, phase TEXT, batch_id INTEGER, json TEXT NOT NULL,
                      PRIMARY KEY (run_id, seq));
CREATE INDEX runs_created ON runs (created_utc);
"""


def test_a_version_1_database_migrates(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.execute(
        "INSERT INTO runs VALUES (?, 'run', '2026-10-01T08:00:00+00:00', 'tiny-qwen3', 'cpu', 'hf', 'abc', ?, ?, ?)",
        (RUN_ID, json.dumps(REPORT["config"]), json.dumps(REPORT["environment"]), "/old/report.json"),
    )
    conn.executemany(
        "INSERT INTO records VALUES (?, ?, ?, ?, ?)",
        [(RUN_ID, i, r["phase"], r["batch_id"], json.dumps(r)) for i, r in enumerate(REPORT["records"])],
    )
    conn.commit()
    conn.close()

    store = ResultStore(path)
    assert store.version() == SCHEMA_VERSION == 2
    run = store.get_run(RUN_ID[:10])
    assert (run["status"], run["model"], run["created_utc"]) == ("unknown", "tiny-qwen3", "2026-10-01T08:00:00+00:00")
    assert run["config"] == REPORT["config"]
    assert store.records(RUN_ID) == REPORT["records"]
    assert store.measurements(RUN_ID) == {}
    store.finish_run(RUN_ID, REPORT)  # the new column and table work on the migrated file
    assert store.get_run(RUN_ID)["status"] == "complete"
    assert store.measurements(RUN_ID)["decode_tps"]["n"] == REPORT["metrics"]["decode_tps"]["n"]
    assert len(store.records(RUN_ID)) == len(REPORT["records"])  # kept, not duplicated
    store.append_records(RUN_ID, REPORT["records"][:1])
    assert len(store.records(RUN_ID)) == len(REPORT["records"]) + 1
    store.close()
    assert ResultStore(path).version() == 2  # reopening migrates nothing


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    ResultStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(InfermeterError, match="newer"):
        ResultStore(path)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not sqlite " * 100)
    with pytest.raises(InfermeterError, match="cannot open results database"):
        ResultStore(path)


# -- extraction of other report kinds --------------------------------------------------------------------
def test_measurements_of_compare_and_soak_reports() -> None:
    steady = {"decode_tps": 10.0, "e2e_s": 1.0, "ttft_s": 0.1, "output_throughput": 9.0}
    calls = [{**steady, "decode_tps": 5.0}, {**steady, "decode_tps": 10.0}, {**steady, "decode_tps": 12.0}]
    summary = {"n": 2, "units": 1, "mean": 11.0, "median": 11.0, "stdev": 1.414, "ci95_low": None, "ci95_high": None}
    compare = {
        "kind": "compare",
        "run_dir": "/r/c",
        "compare": {
            "variants": {
                "eager": {
                    "summary": {"decode_tps": summary, "peak_memory": {"rss": 100}},
                    "rounds": [{"calls": calls, "load_s": 1.0}],
                }
            },  # fmt: skip
            "ratios": [
                {
                    "metric": "decode_tps",
                    "baseline": "eager",
                    "variant": "compiled",
                    "speedup": 1.5,
                    "ci95_low": 1.4,
                    "ci95_high": 1.6,
                    "n": 4,
                    "significant": True,
                    "verdict": "x",
                }
            ],  # fmt: skip
        },
    }
    m = {d["name"]: d for d in measurements_from_report(compare)}
    # steady calls (the first left out) averaged per round: the round's process is the unit
    assert m["variant.eager.decode_tps"]["samples"] == [11.0]
    assert m["variant.eager.memory.peak.rss"]["value"] == 100
    assert m["ratio.decode_tps.compiled_vs_eager"]["value"] == 1.5
    rows = [{"call": c, "e2e_s": 1.0 + 0.01 * c} for c in range(1, 11)]
    soak = {
        "kind": "soak",
        "run_dir": "/r/s",
        "soak": {
            "options": {"warmup_calls": 2},
            "configurations": [{"name": "none", "batch_size": 2, "steady_e2e_s": 1.065, "steady_e2e_per_item_s": 0.5325,
                                "rows": rows, "peak": {"rss": 5},
                                "series": {"e2e_s": {"trend": {"n": 8, "slope": 0.01, "slope_ci95": [0.009, 0.011]}}}}],
        },
    }  # fmt: skip
    m = {d["name"]: d for d in measurements_from_report(soak)}
    assert m["soak.none.steady_e2e_s"]["value"] == 1.065 and m["soak.none.steady_e2e_s"]["n"] == 8
    assert m["soak.none.steady_e2e_per_item_s"]["samples"][0] == pytest.approx(1.03 / 2)
    assert m["soak.none.slope.e2e_s"]["ci95_low"] == 0.009
    assert m["soak.none.peak.rss"]["value"] == 5


def test_load_report_measurements_per_profile_point() -> None:
    ttft = {"n": 20, "mean": 0.05, "median": 0.048, "p90": 0.07, "p99": 0.08, "stdev": 0.01,
            "ci95_low": 0.045, "ci95_high": 0.055}  # fmt: skip
    load = {
        "kind": "load",
        "run_dir": "/r/l",
        "load_run": {
            "points": [{"profile": "poisson:5", "ttft_s": ttft, "tpot_s": None, "output_throughput": 250.0,
                        "request_rate": 4.9, "achieved_rate": 5.1, "requests": {"errors": 1},
                        "goodput": {"requests_per_s": 4.0, "fraction": 0.8}}],
        },
    }  # fmt: skip
    m = {d["name"]: d for d in measurements_from_report(load)}
    assert m["load.poisson:5.ttft_s"]["value"] == 0.05 and m["load.poisson:5.ttft_s"]["n"] == 20
    assert m["load.poisson:5.ttft_s"]["ci95_high"] == 0.055
    assert "load.poisson:5.tpot_s" not in m  # no summary, no row
    assert m["load.poisson:5.output_throughput"]["value"] == 250.0
    assert m["load.poisson:5.goodput.fraction"]["value"] == 0.8 and m["load.poisson:5.errors"]["value"] == 1
