"""Real servers end to end: `run --backend openai` and `load` against llama.cpp and vLLM (CPU), the
in-process vLLM backend inside `.venv-vllm`, the serving workloads, and the side-by-side table of the
same seeded workload measured in-process (HF) and over HTTP.

All in one module so each server starts once (session fixtures in ``servers.py``). Missing server
environments skip here and fail under CI, where `make test` installs them.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import run_cli, run_group
from .servers import llama_server, vllm_env_or_skip, vllm_server  # noqa: F401 - session fixtures

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVERS = ("llama_server", "vllm_server")
# One small seeded workload, the same for every backend: 4 GSM8K questions, 24 new tokens, batch 4.
WORKLOAD = ("--limit", "4", "--max-new-tokens", "24", "--batch-size", "4", "--seed", "7")
# A real server on a busy 2-core machine queues concurrent requests for minutes (llama.cpp serves one at a
# time); the default per-request deadline (60 s + 0.5 s a token) is for hangs, not for a slow machine.
PATIENT = ("--request-timeout", "900")
QUICK = ("--prompt-lens", "32", "--batch-sizes", "1,2", "--repeats", "2", "--set", "measure.max_repeats=2")
QUICK += ("--set", "probe_prompt_len=16", "--set", "probe_output_len=6")


def _json(proc: subprocess.CompletedProcess, what: str) -> dict:
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout)


def _check_stream_records(report: dict, phase: str) -> None:
    """Every measured request streamed: tokens after the send, in order, counted by chunk."""
    recs = [r for r in report["records"] if r["phase"] == phase]
    assert recs
    for r in recs:
        assert r["error"] is None, r["error"]
        assert r["output_tokens"] >= 1 and r["prompt_tokens"] > 0
        times = r["token_times"]
        assert r["t_send"] < times[0] and times == sorted(times)
        if r.get("tokens_per_chunk"):
            assert sum(r["tokens_per_chunk"]) == r["output_tokens"]


@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Report folders of the same workload, filled by the tests below (the table test reads them).

    Session-scoped: under pytest-xdist a worker may run another file's tests between this file's, which
    would tear a module-scoped dict down and lose the runs before the table."""
    return {}


@pytest.mark.parametrize("server", SERVERS)
def test_run_openai_against_real_server(
    server: str, request: pytest.FixtureRequest, tmp_path: Path, reports: dict[str, Path]
) -> None:
    srv = request.getfixturevalue(server)
    proc = run_cli(
        "run", "--json", "--output", str(tmp_path / "results"), "--set", "backend=openai",
        "--set", f"server.base_url={srv.url}", *WORKLOAD, *QUICK, *PATIENT, tmp=tmp_path,
    )  # fmt: skip
    rep = _json(proc, f"run against {srv.name}")
    assert rep["status"] == "complete"
    m = rep["metrics"]
    assert m["requests"]["ok"] == 4 and m["requests"]["errors"] == 0
    assert m["ttft_s"]["mean"] > 0 and m["tpot_s"]["mean"] > 0 and m["output_throughput"] > 0
    _check_stream_records(rep, "dataset")
    # Forced-length probes reached their length: the server honoured ignore_eos/min_tokens.
    assert m["requests"]["short_outputs"] == 0, rep["warnings"]
    reports[server] = Path(rep["run_dir"])


@pytest.mark.parametrize("server", SERVERS)
def test_load_against_real_server(server: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    srv = request.getfixturevalue(server)
    proc = run_cli(
        "load", "--json", "--base-url", srv.url, "--output", str(tmp_path / "results"),
        "--workload", "shared-prefix", "--prompt-len", "256", "--limit", "6", "--max-new-tokens", "16",
        "--profile", "concurrent:3", "--max-requests", "6", "--slo", "ttft=30s", *PATIENT, tmp=tmp_path,
    )  # fmt: skip
    rep = _json(proc, f"load against {srv.name}")
    (point,) = rep["load_run"]["points"]
    assert point["requests"]["ok"] == 6 and rep["load_run"]["errors_total"] == 0
    assert point["ttft_s"]["n"] == 6 and point["output_throughput"] > 0
    recs = [r for r in rep["records"] if r["phase"] == "load"] if "records" in rep else []
    for r in recs:  # the shared ~256-token system prompt is in every request
        assert r["prompt_tokens"] > 200
    sm = rep["load_run"]["server_metrics"]  # vLLM exposes Prometheus /metrics; llama-cpp-python's server none
    if server == "vllm_server":
        assert sm["available"], sm
        assert {"running", "waiting", "kv_cache_usage", "prefix_cache_queries_total"} <= set(sm["metrics"])
        gen = sm["series"]["generation_tokens_total"]  # a last sample follows the last request
        assert gen[-1] - gen[0] == sum(p["requests"]["output_tokens"] for p in rep["load_run"]["points"])
    else:
        assert sm["available"] is False and "exposes no metrics" in sm["note"]


def test_inprocess_vllm_backend(tmp_path: Path, reports: dict[str, Path]) -> None:
    """`infermeter run --backend vllm` inside .venv-vllm: per-token times from the stepped engine."""
    python = vllm_env_or_skip()
    from infermeter.models.export import hf_folder

    folder = hf_folder("smollm2-135m")  # the .venv's conversion; the vLLM venv reuses it
    env = {**os.environ, "INFERMETER_DB": str(tmp_path / "results.db")}
    cmd = [str(python), "-m", "infermeter", "run", "--json", "--output", str(tmp_path / "results")]
    cmd += ["--set", "backend=vllm", "--model", str(folder), "--set", "enforce_eager=true", *WORKLOAD, *QUICK]
    proc = run_group(cmd, cwd=tmp_path, env=env, timeout=600)  # a hang kills the whole process group
    rep = _json(proc, "run --backend vllm")
    assert rep["status"] == "complete"
    assert rep["load"]["architecture"] == "LlamaForCausalLM" and rep["load"]["parameters"] > 100e6
    m = rep["metrics"]
    assert m["requests"]["ok"] == 4 and m["requests"]["short_outputs"] == 0
    _check_stream_records(rep, "dataset")
    batch = [r for r in rep["records"] if r["phase"] == "batch"]
    assert all(r["output_tokens"] == 6 for r in batch)  # forced length via ignore_eos + min_tokens
    reports["vllm_inprocess"] = Path(rep["run_dir"])


def test_side_by_side_table(tmp_path: Path, reports: dict[str, Path]) -> None:
    """The same seeded workload in-process (HF) and over HTTP (llama.cpp, vLLM) in one table."""
    missing = [s for s in SERVERS if s not in reports]
    if missing:
        pytest.skip(f"needs the server runs above ({', '.join(missing)})")
    rep = _json(
        run_cli("run", "--json", "--output", str(tmp_path / "results"), *WORKLOAD, *QUICK, tmp=tmp_path), "hf run"
    )
    dirs = [rep["run_dir"], str(reports["llama_server"]), str(reports["vllm_server"])]
    proc = run_cli("report", *dirs, "--table", "-", "--labels", "hf,llama.cpp,vllm", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| metric"))
    assert "hf: hf batch 4" in header and "llama.cpp: openai@" in header and "vllm: openai@" in header
    ttft = next(line for line in lines if line.startswith("| TTFT mean"))
    assert ttft.count("|") == 5 and " - " not in ttft  # a number in every column
    assert "gsm8k limit=4" in proc.stdout and "do not compare" not in proc.stdout


# -- vLLM's and GuideLLM's datasets against the real servers ---------------------------------------------
def _load_records(proc: subprocess.CompletedProcess, what: str) -> tuple[dict, list[dict]]:
    rep = _json(proc, what)
    lines = (Path(rep["run_dir"]) / "records.jsonl").read_text().splitlines()
    return rep, [json.loads(line) for line in lines]


def _server_tokenizer(server: str) -> tuple[str, ...]:
    """vLLM serves the converted folder: count with its tokenizer.json; llama.cpp: the default Qwen one."""
    if server != "vllm_server":
        return ()
    from infermeter.models.export import hf_folder

    return ("--tokenizer", str(hf_folder("smollm2-135m")))


@pytest.mark.parametrize("server", SERVERS)
def test_sharegpt_and_random_lengths_on_real_server(server: str, request: pytest.FixtureRequest, tmp_path: Path):
    srv = request.getfixturevalue(server)
    common = (
        "load",
        "--json",
        "--base-url",
        srv.url,
        "--output",
        str(tmp_path / "results"),
        *_server_tokenizer(server),
        *PATIENT,
    )
    args = ("--dataset-name", "sharegpt", "--num-prompts", "4", "--output-len", "12", "--profile", "concurrent:2")
    rep, recs = _load_records(run_cli(*common, *args, "--export", "vllm", tmp=tmp_path), "sharegpt")
    assert rep["load_run"]["points"][0]["requests"]["ok"] == 4 and rep["load_run"]["errors_total"] == 0
    assert all(r["extra"]["max_tokens"] == 12 and 1 <= r["output_tokens"] <= 12 for r in recs)
    assert json.loads((Path(rep["run_dir"]) / "vllm.json").read_text())["completed"] == 4
    spec = "prompt_tokens=16-48,output_tokens=6,output_tokens_stdev=2,output_tokens_min=3,output_tokens_max=9"
    rep, recs = _load_records(run_cli(*common, "--dataset-name", "random", "--lengths", spec, "--num-prompts", "6",
                                      "--request-rate", "4", "--seed", "3", tmp=tmp_path), "random")  # fmt: skip
    assert len(recs) == 6 and all(r["error"] is None for r in recs)
    assert all(16 <= r["prompt_tokens"] <= 48 for r in recs)
    targets = [r["target_output_tokens"] for r in recs]  # drawn per request, sent as max_tokens + min_tokens
    assert all(3 <= t <= 9 for t in targets) and len(set(targets)) > 1
    assert all(1 <= r["output_tokens"] <= r["target_output_tokens"] for r in recs)


@pytest.mark.parametrize("server", SERVERS)
def test_trace_and_multi_turn_on_real_server(server: str, request: pytest.FixtureRequest, tmp_path: Path):
    srv = request.getfixturevalue(server)
    common = (
        "load",
        "--json",
        "--base-url",
        srv.url,
        "--output",
        str(tmp_path / "results"),
        *_server_tokenizer(server),
        *PATIENT,
    )
    trace = tmp_path / "trace.jsonl"
    times = [0, 150, 300, 1200, 1250, 2000]
    trace.write_text(
        "".join(json.dumps({"timestamp": t, "input_length": 24, "output_length": 4}) + "\n" for t in times)
    )
    rep, recs = _load_records(run_cli(*common, "--dataset", str(trace), tmp=tmp_path), "trace")
    assert rep["load_run"]["points"][0]["profile"] == "trace:1" and all(r["error"] is None for r in recs)
    by_k = sorted(recs, key=lambda r: r["extra"]["k"])
    for r, t in zip(by_k, times, strict=True):
        assert r["extra"]["scheduled_s"] == pytest.approx(t / 1000)
    # The point's start, from each record's measured lag (not from the first send, which may itself leave late
    # on a busy machine): all records agree on it, and none was sent before its time (lag: gpu_serving.sh).
    starts = [r["t_send"] - r["extra"]["send_lag_s"] - r["extra"]["scheduled_s"] for r in by_k]
    assert max(starts) - min(starts) < 1e-6
    assert all(r["extra"]["send_lag_s"] >= -0.002 for r in by_k)  # never early
    args = ("--dataset-name", "multi-turn", "--limit", "2", "--output-len", "8", "--profile", "concurrent:2")
    rep, recs = _load_records(run_cli(*common, *args, "--max-requests", "6", tmp=tmp_path), "multi-turn")
    turns = rep["load_run"]["points"][0]["turns"]
    assert [t["turn"] for t in turns] == [1, 2, 3] and all(t["requests"] == 2 for t in turns)
    assert turns[0]["prompt_tokens_mean"] < turns[1]["prompt_tokens_mean"] < turns[2]["prompt_tokens_mean"]
    for conv in {r["extra"]["conversation"] for r in recs}:
        rs = sorted((r for r in recs if r["extra"]["conversation"] == conv), key=lambda r: r["extra"]["turn"])
        assert all(b["t_send"] >= a["token_times"][-1] for a, b in zip(rs, rs[1:], strict=False))
