"""vLLM's result JSON written from records (every field name checked against vLLM's source) and read back;
GuideLLM's benchmarks.json read as load points."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from infermeter.core.records import RequestRecord
from infermeter.interop import vllm
from infermeter.interop.foreign import foreign_report

ROOT = Path(__file__).resolve().parents[3]
# The names `vllm bench serve` writes (vllm/benchmarks/serve.py: benchmark() and main()), for when the
# vLLM environment is not installed; with it, the installed source is read instead.
PINNED = {
    "date", "endpoint_type", "backend", "label", "model_id", "tokenizer_id", "num_prompts", "request_rate",
    "burstiness", "max_concurrency", "duration", "completed", "failed", "total_input_tokens",
    "total_output_tokens", "request_throughput", "request_goodput", "output_throughput", "total_token_throughput",
    "max_output_tokens_per_s", "max_concurrent_requests", "rtfx",
}  # fmt: skip
PER_METRIC = ("mean_{}_ms", "median_{}_ms", "std_{}_ms", "p{}_{}_ms")


def vllm_names() -> tuple[set[str], str]:
    """Field names of vLLM's result JSON, from the installed source when there is one."""
    found = sorted(ROOT.glob(".venv-vllm/lib/python*/site-packages/vllm/benchmarks/serve.py"))
    if not found:
        return PINNED, "pinned list"
    src = found[0].read_text(encoding="utf-8")
    names = set(re.findall(r'result_json\["(\w+)"\]', src))
    for node in ast.walk(ast.parse(src)):  # the keys of every dict literal assigned to `result`
        is_result = isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "result" for t in node.targets)
        if is_result and isinstance(node.value, ast.Dict):
            names |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    assert (
        'result[f"mean_{metric_attribute_name}_ms"]' in src and 'result[f"p{p_word}_{metric_attribute_name}_ms"]' in src
    )
    return names, str(found[0])


def _records() -> list[RequestRecord]:
    out = []
    for k in range(6):  # send k*0.1, first token +0.05, then 4 more tokens 0.01 apart; prompt 10+k tokens
        t = k * 0.1
        times = [t + 0.05 + 0.01 * i for i in range(5)]
        out.append(RequestRecord(f"r{k}", "load", k, 1, 10 + k, t, times, extra={"point": 0, "k": k}))
    out.append(RequestRecord("bad", "load", 6, 1, 9, 0.65, [], error="HTTP 500", extra={"point": 0, "k": 6}))
    return out


def _report() -> dict:
    return {
        "label": "nightly", "metadata": {"gpu": "H200"}, "config": {"server": {"api": "chat"}, "model": {"name": "m"}},
        "load": {"model": "served-m", "tokenizer": "qwen"},
        "load_run": {"options": {"slo": {"ttft": 0.06}, "percentiles": [50.0, 99.0, 99.9], "burstiness": 1.0},
                     "points": [{"requests": {"sent": 7}, "target_rate": 10.0, "concurrency": None}]},
    }  # fmt: skip


def test_export_field_names_are_vllms(tmp_path):
    out = vllm.export(_report(), _records(), tmp_path / "vllm.json")[0]
    names, where = vllm_names()
    metric_names = {f.format(m) for f in PER_METRIC[:3] for m in vllm.METRICS}
    unknown = set()
    for key in out:
        pct = re.fullmatch(r"p[0-9.]+_(ttft|tpot|itl|e2el)_ms", key)
        if key not in names and key not in metric_names and not pct and key != "gpu":  # gpu: --metadata
            unknown.add(key)
    assert not unknown, f"not in vLLM's result ({where}): {sorted(unknown)}"
    for required in ("completed", "failed", "total_input_tokens", "request_throughput", "output_throughput",
                     "total_token_throughput", "request_goodput", "mean_ttft_ms", "median_ttft_ms", "std_ttft_ms",
                     "p99_ttft_ms", "p99.9_ttft_ms", "mean_tpot_ms", "mean_itl_ms", "mean_e2el_ms"):  # fmt: skip
        assert required in out
    assert json.loads((tmp_path / "vllm.json").read_text()) == out


def test_export_numbers_follow_vllms_definitions(tmp_path):
    out = vllm.export(_report(), _records(), tmp_path / "vllm.json")[0]
    assert (out["completed"], out["failed"]) == (6, 1)
    assert out["total_input_tokens"] == sum(range(10, 16)) and out["total_output_tokens"] == 30
    assert out["duration"] == pytest.approx(0.5 + 0.09)  # first send to last token
    assert out["request_throughput"] == pytest.approx(6 / 0.59)
    assert out["total_token_throughput"] == pytest.approx((75 + 30) / 0.59)
    assert out["mean_ttft_ms"] == pytest.approx(50.0) and out["std_ttft_ms"] == pytest.approx(0.0, abs=1e-9)
    assert out["mean_tpot_ms"] == pytest.approx(10.0) and out["median_itl_ms"] == pytest.approx(10.0)
    assert out["mean_e2el_ms"] == pytest.approx(90.0)
    assert out["request_goodput"] == pytest.approx(6 / 0.59)  # every TTFT (50 ms) within 60 ms
    assert out["label"] == "nightly" and out["gpu"] == "H200" and out["model_id"] == "served-m"
    assert out["max_concurrent_requests"] == 1 and out["request_rate"] == 10.0


def test_vllm_result_reads_back_as_a_load_point(tmp_path):
    out = vllm.export(_report(), _records(), tmp_path / "vllm.json")[0]
    rep = foreign_report(tmp_path / "vllm.json", json.dumps(out))
    (point,) = rep["load_run"]["points"]
    assert rep["imported_from"] == "vllm bench serve" and rep["kind"] == "load"
    assert point["requests"] == {"sent": 7, "ok": 6, "measured": 7, "errors": 1, "short_outputs": 0,
                                 "input_tokens": 75, "output_tokens": 30}  # fmt: skip
    assert point["target_rate"] == 10.0 and point["goodput"] is None  # every key of a load point is there
    assert point["ttft_s"]["mean"] == pytest.approx(0.05) and point["ttft_s"]["p99.9"] == pytest.approx(0.05)
    two = json.dumps(out) + "\n" + json.dumps(out) + "\n"  # --append-result: JSON lines
    assert len(foreign_report(tmp_path / "x.jsonl", two)["load_run"]["points"]) == 2
    assert foreign_report(tmp_path / "other.json", json.dumps({"hello": 1})) is None


def test_guidellm_benchmarks_read_as_load_points(tmp_path):
    def dist(mean: float) -> dict:
        return {"successful": {"mean": mean, "median": mean, "percentiles": {"p50": mean, "p90": mean * 1.5,
                                                                              "p99": mean * 2}}}  # fmt: skip

    bench = {
        "config": {"strategy": {"type_": "constant", "rate": 4.0}},
        "scheduler_metrics": {"requests_made": {"successful": 40, "errored": 2, "incomplete": 0, "total": 42}},
        "metrics": {"requests_per_second": dist(3.9), "output_tokens_per_second": dist(500.0),
                    "time_to_first_token_ms": dist(80.0), "inter_token_latency_ms": dist(20.0),
                    "request_latency": dist(2.6)},
    }  # fmt: skip
    rep = foreign_report(tmp_path / "benchmarks.json", json.dumps({"benchmarks": [bench]}))
    (p,) = rep["load_run"]["points"]
    assert rep["imported_from"] == "guidellm" and p["profile"] == "constant:4"
    assert (p["requests"]["sent"], p["requests"]["ok"], p["requests"]["errors"]) == (42, 40, 2)
    assert p["request_rate"] == 3.9
    assert p["ttft_s"]["mean"] == pytest.approx(0.08) and p["ttft_s"]["p99"] == pytest.approx(0.16)
    assert p["tpot_s"]["median"] == pytest.approx(0.02) and p["e2e_s"]["p90"] == pytest.approx(3.9)
