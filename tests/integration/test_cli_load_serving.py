"""`load` as vLLM and GuideLLM users run it, against the null server on loopback: their datasets (ShareGPT,
random lengths, a trace, multi-turn), their flags, the vLLM export and import, and their bad inputs."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from infermeter.workloads.serving_data import SAMPLES

from .conftest import run_cli

pytestmark = pytest.mark.integration


def _load(tmp: Path, url: str, *args: str) -> tuple[dict, list[dict]]:
    proc = run_cli("load", "--json", "--base-url", url, "--output", str(tmp / "results"), *args, tmp=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rep = json.loads(proc.stdout)
    recs = [json.loads(line) for line in (Path(rep["run_dir"]) / "records.jsonl").read_text().splitlines()]
    return rep, recs


def test_sharegpt_sample_reply_lengths_export_and_served_model_name(tmp_path, null_server):
    srv = null_server("--tokens", "400", "--pace-ms", "0", "--model", "served-llm")
    rep, recs = _load(tmp_path, srv.url, "--dataset", str(SAMPLES / "sharegpt_gsm8k.json"), "--num-prompts", "8",
                      "--request-rate", "40", "--export", "vllm", "--label", "ci", "--metadata", "gpu=none",
                      "--goodput", "ttft:60000", "--percentiles", "50,99.9")  # fmt: skip
    (p,) = rep["load_run"]["points"]
    assert p["profile"] == "poisson:40" and p["requests"]["ok"] == 8 and p["requests"]["input_tokens"] > 0
    assert "p99.9" in p["ttft_s"] and p["goodput"]["slo_s"] == {"ttft": 60.0}  # bare numbers are milliseconds
    assert rep["config"]["workload"]["kind"] == "sharegpt" and rep["config"]["model"]["name"] == "served-llm"
    assert (rep["label"], rep["metadata"]) == ("ci", {"gpu": "none"})
    for r in recs:  # each request asked for its reply's length and got it (the null server honours max_tokens)
        assert r["extra"]["max_tokens"] > 4 and r["extra"]["usage"]["completion_tokens"] == r["extra"]["max_tokens"]
    assert len({r["extra"]["max_tokens"] for r in recs}) > 3  # lengths differ per conversation
    assert "served-llm" in Path(rep["run_dir"]).name
    db = sqlite3.connect(tmp_path / "results.db")
    assert db.execute("SELECT model FROM runs").fetchone() == ("served-llm",)
    vllm = json.loads((Path(rep["run_dir"]) / "vllm.json").read_text())
    assert vllm["completed"] == 8 and vllm["failed"] == 0 and vllm["label"] == "ci" and vllm["gpu"] == "none"
    assert vllm["total_output_tokens"] == sum(r["extra"]["max_tokens"] for r in recs)
    assert vllm["request_goodput"] == pytest.approx(vllm["request_throughput"]) and "p99.9_ttft_ms" in vllm
    # The vLLM file side by side with infermeter's own report.
    table = run_cli("report", str(Path(rep["run_dir"]) / "vllm.json"), rep["run_dir"], "--table", "-", tmp=tmp_path)
    assert table.returncode == 0, table.stderr
    header = next(line for line in table.stdout.splitlines() if line.startswith("| metric"))
    assert "vllm bench serve rate 40" in header and "openai@" in header


def test_random_lengths_are_drawn_and_forced(tmp_path, null_server):
    srv = null_server("--tokens", "64", "--pace-ms", "0")
    spec = "prompt_tokens=20-60,output_tokens=12,output_tokens_stdev=4,output_tokens_min=4,output_tokens_max=20"
    rep, recs = _load(tmp_path, srv.url, "--dataset-name", "random", "--lengths", spec, "--num-prompts", "30",
                      "--profile", "concurrent:4")  # fmt: skip
    ins, outs = [r["prompt_tokens"] for r in recs], [r["output_tokens"] for r in recs]
    assert len(recs) == 30 and min(ins) >= 20 and max(ins) <= 60 and len(set(ins)) > 8
    assert min(outs) >= 4 and max(outs) <= 20 and len(set(outs)) > 3
    assert all(r["target_output_tokens"] == r["output_tokens"] for r in recs)  # forced: ignore_eos, as vLLM


def test_trace_replay_sends_at_the_recorded_times(tmp_path, null_server):
    srv = null_server("--tokens", "8", "--pace-ms", "0")
    rep, recs = _load(tmp_path, srv.url, "--dataset", str(SAMPLES / "trace_gsm8k.jsonl"), "--trace-speed", "4x")
    assert rep["load_run"]["points"][0]["profile"] == "trace:4" and len(recs) == 40
    trace = [json.loads(line) for line in (SAMPLES / "trace_gsm8k.jsonl").read_text().splitlines()]
    by_k = sorted(recs, key=lambda r: r["extra"]["k"])
    # The point's start, from each record's send time, offset and recorded lag: one instant for all of them
    # (the first request is not the reference: on a busy machine it may itself leave late).
    starts = [r["t_send"] - r["extra"]["scheduled_s"] - r["extra"]["send_lag_s"] for r in by_k]
    assert max(starts) - min(starts) < 1e-6
    t0 = starts[0]
    for r, line in zip(by_k, trace, strict=True):
        assert r["extra"]["scheduled_s"] == pytest.approx(line["timestamp"] / 1000 / 4)  # the schedule is the trace
        assert r["t_send"] - t0 >= r["extra"]["scheduled_s"] - 0.002  # never sent early
        assert r["prompt_tokens"] == line["input_length"]  # exact lengths from the trace
    shared = [r for r, line in zip(by_k, trace, strict=True) if line["hash_ids"] == [1]]
    assert len({r["extra"]["input"] for r in shared}) == len(
        {ln["input_length"] for ln in trace if ln["hash_ids"] == [1]}
    )


def test_multi_turn_sends_each_turn_after_the_one_before(tmp_path, null_server):
    srv = null_server("--tokens", "16", "--pace-ms", "1")
    rep, recs = _load(tmp_path, srv.url, "--dataset-name", "multi-turn", "--limit", "3", "--profile", "concurrent:3",
                      "--max-requests", "9")  # fmt: skip
    turns = rep["load_run"]["points"][0]["turns"]
    assert [t["turn"] for t in turns] == [1, 2, 3] and all(t["requests"] == 3 for t in turns)
    assert turns[0]["prompt_tokens_mean"] < turns[1]["prompt_tokens_mean"] < turns[2]["prompt_tokens_mean"]
    convs: dict[str, list[dict]] = {}
    for r in recs:
        convs.setdefault(r["extra"]["conversation"], []).append(r)
    for rs in convs.values():
        rs.sort(key=lambda r: r["extra"]["turn"])
        for before, after in zip(rs, rs[1:], strict=False):
            assert after["t_send"] >= before["token_times"][-1]  # the history's reply was complete


def test_window_shares_of_requests_sent_and_the_concurrency_cap(tmp_path, null_server):
    srv = null_server("--tokens", "8", "--pace-ms", "20")
    rep, recs = _load(tmp_path, srv.url, "--profile", "constant:40", "--max-requests", "1000", "--duration", "1s",
                      "--warmup", "10%", "--cooldown", "10%", "--max-concurrency", "2", "--set", "tokenizer=qwen",
                      "--prompt-len", "8", "--max-new-tokens", "8")  # fmt: skip
    (p,) = rep["load_run"]["points"]
    sent = p["requests"]["sent"]
    assert 2 < sent < 1000 and p["requests"]["measured"] == sent - 2 * int(0.1 * sent) > 0
    spans = sorted((r["t_send"], r["token_times"][-1]) for r in recs if r["token_times"])  # --duration cuts some
    live = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert live <= 2  # --max-concurrency caps a rate profile too


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--dataset-name", "sharegpt", "--dataset", "BAD_SHAREGPT"), "no 'conversations' key"),
        (("--dataset", "BAD_TRACE"), "timestamp 5 goes backwards"),
        (("--dataset", "ODD"), "dataset format not recognised; expected one of: ShareGPT"),
        (("--request-rate", "5", "--burstiness", "0"), "--burstiness 0: use a number > 0"),
        (
            (
                "--percentiles",
                "101",
            ),
            "--percentiles: '101' is not a percentile in (0, 100]",
        ),
        (
            (
                "--goodput",
                "ttft=fast",
            ),
            "--goodput: cannot read 'ttft=fast'",
        ),
    ],
)
def test_bad_input_is_one_line(tmp_path, null_server, args, message):
    (tmp_path / "bad_sharegpt.json").write_text('[{"id": 1, "turns": []}]')
    (tmp_path / "bad_trace.jsonl").write_text(
        '{"timestamp": 10, "input_length": 5}\n{"timestamp": 5, "input_length": 5}\n'
    )
    (tmp_path / "odd.jsonl").write_text('{"colour": "red"}\n')
    names = {"BAD_SHAREGPT": "bad_sharegpt.json", "BAD_TRACE": "bad_trace.jsonl", "ODD": "odd.jsonl"}
    srv = null_server("--tokens", "4")
    args = tuple(str(tmp_path / names[a]) if a in names else a for a in args)
    proc = run_cli("load", "--base-url", srv.url, "--max-requests", "2", "--output", "results", *args, tmp=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


_NO_ENGINES = """
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers", "accelerate", "gguf"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
sys.argv = ["infermeter", *sys.argv[1:]]
runpy.run_module("infermeter", run_name="__main__")
"""


def test_load_runs_without_torch_or_transformers(tmp_path, null_server):
    """`pip install infermeter` (no [hf] extra) measures a server; an in-process run names the extra."""
    srv = null_server("--tokens", "8", "--pace-ms", "0")
    script = tmp_path / "no_engines.py"
    script.write_text(_NO_ENGINES)
    base = [sys.executable, str(script)]
    env = {**os.environ, "INFERMETER_DB": "off"}
    args = ["load", "--base-url", srv.url, "--dataset-name", "sharegpt", "--num-prompts", "4", "--json"]
    proc = subprocess.run(base + args + ["--output", "results"], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["load_run"]["points"][0]["requests"]["ok"] == 4
    proc = subprocess.run(base + ["run", "--inline", "--limit", "1"], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env=env)  # fmt: skip
    assert proc.returncode == 2 and "pip install 'infermeter[hf]'" in proc.stderr, proc.stderr[-2000:]
