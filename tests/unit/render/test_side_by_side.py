"""The side-by-side table over run and load reports."""

from __future__ import annotations

from infermeter.render.side_by_side import label, side_by_side


def _dist(mean: float) -> dict:
    return {"n": 4, "mean": mean, "median": mean, "p90": mean, "p99": mean * 2, "ci95_low": mean, "ci95_high": mean}


def _cfg(backend: str, url: str | None = None, kind: str = "gsm8k") -> dict:
    return {
        "backend": backend,
        "seed": 7,
        "server": {"base_url": url},
        "workload": {"kind": kind, "limit": 4, "batch_size": 4, "prompt_len": 128},
        "generation": {"max_new_tokens": 24},
    }


def _run(backend: str, url: str | None = None, kind: str = "gsm8k") -> dict:
    m = {"requests": {"total": 4, "ok": 4}, "ttft_s": _dist(0.02), "tpot_s": _dist(0.03), "itl_s": _dist(0.03)}
    m |= {"e2e_s": _dist(0.7), "decode_tps": _dist(100.0), "output_throughput": 120.0}
    return {"kind": "run", "config": _cfg(backend, url, kind), "metrics": m}


def _load() -> dict:
    point = {"profile": "concurrent:4", "requests": {"sent": 8, "ok": 7}, "ttft_s": _dist(0.05)}
    point |= {"tpot_s": _dist(0.04), "output_throughput": 90.0, "request_rate": 2.5}
    return {"kind": "load", "config": _cfg("openai", "http://127.0.0.1:8000"), "load_run": {"points": [point]}}


def test_labels():
    assert label(_run("hf")) == "hf"
    assert label(_run("openai", "http://127.0.0.1:8000/v1")) == "openai@127.0.0.1:8000"


def test_one_column_per_run_and_per_load_point():
    t = side_by_side([_run("hf"), _run("openai", "http://127.0.0.1:9"), _load()], ["hf", "llama", "vllm"])
    assert t.headers[:3] == ["metric", "hf: hf batch 4", "llama: openai@127.0.0.1:9 batch 4"]
    assert t.headers[3] == "vllm: openai@127.0.0.1:8000 concurrent:4"
    rows = {r[0]: r[1:] for r in t.rows}
    assert rows["requests ok / sent"] == ["4 / 4", "4 / 4", "7 / 8"]
    assert rows["TTFT mean (ms)"] == ["20.0", "20.0", "50.0"]
    assert rows["TTFT p99 (ms)"] == ["40.0", "40.0", "100.0"]
    assert rows["output throughput (tok/s)"] == ["120.0", "120.0", "90.0"]
    assert rows["decode TPS per batch (tok/s)"] == ["100.0", "100.0", "-"]
    assert rows["request rate (req/s)"] == ["-", "-", "2.50"]
    assert "gsm8k limit=4" in t.note and "do not compare" not in t.note


def test_different_workloads_are_flagged():
    t = side_by_side([_run("hf"), _run("hf", kind="synthetic")])
    assert "do not compare" in t.note
