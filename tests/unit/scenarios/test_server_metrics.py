"""Prometheus parsing, the server-metric summaries per point, and serve-null's /metrics (pure parts)."""

from __future__ import annotations

import asyncio

import pytest

from infermeter.scenarios.server_metrics import Scraper, known, metrics_url, parse_prometheus, point_summary, section
from infermeter.servers.null import NullStats

VLLM_TEXT = """# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3.0
vllm:num_requests_waiting{engine="0",model_name="m"} 1.0
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25
vllm:prefix_cache_queries_total{engine="0",model_name="m"} 100.0
vllm:prefix_cache_hits_total{engine="0",model_name="m"} 40.0
vllm:num_preemptions_total{engine="0",model_name="m"} 2.0
vllm:generation_tokens_total{engine="0",model_name="m"} 1000.0
vllm:time_to_first_token_seconds_bucket{le="0.001",model_name="m"} 0.0
python_gc_objects_collected_total{generation="0"} 1234.0
"""


def test_parse_sums_label_sets_and_maps_known_names() -> None:
    vals = parse_prometheus(VLLM_TEXT + 'vllm:num_requests_running{engine="1",model_name="m"} 2.0\n')
    assert vals["vllm:num_requests_running"] == 5.0  # two engines
    k = known(vals)
    assert k == {
        "running": 5.0,
        "waiting": 1.0,
        "kv_cache_usage": 0.25,
        "prefix_cache_queries_total": 100.0,
        "prefix_cache_hits_total": 40.0,
        "preemptions_total": 2.0,
        "generation_tokens_total": 1000.0,
    }
    assert known(parse_prometheus("llamacpp:kv_cache_usage_ratio 0.5\nllamacpp:requests_processing 2\n")) == {
        "kv_cache_usage": 0.5,
        "running": 2.0,
    }
    assert parse_prometheus("garbage line\nx NaN\n# comment\n") == {}


def test_metrics_url() -> None:
    assert metrics_url("http://h:8000/v1/", "auto") == "http://h:8000/metrics"
    assert metrics_url("http://h:8000", "auto") == "http://h:8000/metrics"
    assert metrics_url("http://h:8000", "off") is None
    assert metrics_url("http://h:8000", "http://other:9/m") == "http://other:9/m"


def _sample(t: float, **v: float) -> dict:
    return {"t": t, "values": v}


def test_point_summary_differences_counters_from_the_sample_before_the_point() -> None:
    samples = [
        _sample(0.0, running=0, prefix_cache_queries_total=10, prefix_cache_hits_total=0, preemptions_total=1,
                generation_tokens_total=0),
        _sample(1.0, running=4, kv_cache_usage=0.5, prefix_cache_queries_total=110, prefix_cache_hits_total=50,
                preemptions_total=1, generation_tokens_total=200),
        _sample(2.0, running=2, kv_cache_usage=0.25, prefix_cache_queries_total=210, prefix_cache_hits_total=100,
                preemptions_total=3, generation_tokens_total=400),
    ]  # fmt: skip
    s = point_summary(samples, 0.5, 2.5)
    assert s["samples"] == 2
    assert s["running"] == {"mean": 3.0, "max": 4}
    assert s["kv_cache_usage"] == {"mean": 0.375, "max": 0.5}
    assert s["prefix_cache_hit_rate"] == pytest.approx(0.5)  # 100 hits of 200 queries during the point
    assert s["preemptions"] == 2
    assert s["generation_tokens_per_s"] == pytest.approx(200.0)


def test_section_says_when_there_is_nothing() -> None:
    off = section(None, None, [], None)
    assert off["available"] is False and "off" in off["note"]
    sc = Scraper("http://127.0.0.1:9/metrics", now=lambda: 0.0)
    sc.note = "the server exposes no metrics at http://127.0.0.1:9/metrics (HTTP 404)"
    none = section(sc.url, sc, [(0.0, 1.0)], 0.0)
    assert none["available"] is False and "HTTP 404" in none["note"]
    sc.raw = [(1.0, VLLM_TEXT.encode()), (2.0, VLLM_TEXT.encode())]
    got = section(sc.url, sc, [(0.5, 3.0)], 0.5)
    assert got["available"] and got["samples"] == 2 and got["series"]["t"] == [0.5, 1.5]
    assert got["points"][0]["running"]["max"] == 3.0


def test_scraper_notes_an_unreachable_endpoint_and_stops() -> None:
    import time

    from infermeter.servers.null import free_port

    sc = Scraper(f"http://127.0.0.1:{free_port()}/metrics", now=time.perf_counter, interval_s=0.05)
    asyncio.run(asyncio.wait_for(sc.run(), 10))
    assert sc.raw == [] and sc.failures == 1 and "exposes no metrics" in (sc.note or "")


def test_null_stats_prefix_cache_and_running() -> None:
    st = NullStats(kv_slots=4)
    words = [f"w{i}" for i in range(40)]  # two whole blocks of 16
    st.begin(words)
    st.begin(words[:32] + ["other"] * 8)  # same two blocks: both hit
    st.begin(["x"] + words[1:40])  # the first block differs, so neither block's prefix was seen
    vals = known(parse_prometheus(st.prometheus('a"b')))
    assert vals["running"] == 3 and vals["kv_cache_usage"] == 0.75
    assert vals["prefix_cache_queries_total"] == 96 and vals["prefix_cache_hits_total"] == 32
    st.end(10)
    vals = known(parse_prometheus(st.prometheus("m")))
    assert vals["running"] == 2 and vals["generation_tokens_total"] == 10
