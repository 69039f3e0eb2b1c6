"""summary.compute() / warnings() on a small synthetic run (every expected value by hand)."""

from __future__ import annotations

import json

import pytest

from infermeter.metrics import compute as summary

WEIGHTS = 30 * 2**20

GROUPS = [
    {
        "phase": "dataset",
        "shape": "a",
        "memory": {
            "rss": 100 * 2**20,
            "rss_method": "vmhwm",
            "torch_allocated": 50 * 2**20,
            "torch_reserved": 60 * 2**20,
            "nvml_process": None,
        },
    },
    {
        "phase": "dataset",
        "shape": "b",
        "memory": {
            "rss": 120 * 2**20,
            "rss_method": "vmhwm",
            "torch_allocated": 40 * 2**20,
            "torch_reserved": 80 * 2**20,
            "nvml_process": 90 * 2**20,
        },
    },
    {
        "phase": "context",
        "shape": "c",
        "memory": {"rss": 90 * 2**20, "rss_method": "sampled"},  # CPU run: no GPU views
    },
]


@pytest.fixture
def run(clock, simulate, simulate_batch):
    """Records of a small run, in the order a worker would produce them."""
    recs = []
    # Warm-up: absurd timings, a failure and a short output; none of it may show anywhere.
    recs += [simulate(prefill=None, phase="warmup:first-call", error="boom")]
    recs += simulate_batch(
        prefill=10.0, step=1.0, lengths=[3, 1], batch_id=100, phase="warmup:dataset", target_output_tokens=3
    )
    assert clock.now() == 12.0  # 10 + 2 * 1.0

    # Dataset, batch 1 (2 requests, 20 prompt tokens each): sent at 12.0, prefill 0.5, step 0.25
    #   a: 5 tokens at 12.5 .. 13.5 -> TTFT 0.5, TPOT 1.0 / 4 = 0.25, E2E 1.5, 4 gaps of 0.25
    #   b: 3 tokens at 12.5 .. 13.0 -> TTFT 0.5, TPOT 0.5 / 2 = 0.25, E2E 1.0, 2 gaps of 0.25
    a, b = simulate_batch(prefill=0.5, step=0.25, lengths=[5, 3], batch_id=1, prompt_tokens=20)
    a.reference, a.score = "18", 1.0
    b.reference, b.score = "3", 0.0
    # Dataset, batch 2 (1 request, 10 prompt tokens): sent at 13.5, prefill 0.25, step 0.125
    #   c: 3 tokens at 13.75, 13.875, 14.0 -> TTFT 0.25, TPOT 0.125, E2E 0.5, 2 gaps of 0.125
    (c,) = simulate_batch(prefill=0.25, step=0.125, lengths=[3], batch_id=2, prompt_tokens=10)
    c.reference, c.score = "70000", 1.0
    # Dataset, batch 3: failed before any token (40 prompt tokens)
    d = simulate(prefill=None, batch_id=3, prompt_tokens=40, error="CUDA out of memory", reference="5")
    recs += [a, b, c, d]

    # Context load: TTFT 0.25 at 128 tokens, 0.5 at 512 tokens; one 512 output came back short.
    recs += [simulate(prefill=5.0, prompt_tokens=128, phase="warmup:context", target_output_tokens=2)]
    for _ in range(2):
        recs += [simulate(0.25, [0.125], prompt_tokens=128, phase="context", target_output_tokens=2)]
    recs += [simulate(0.5, [0.125], prompt_tokens=512, phase="context", target_output_tokens=2)]
    recs += [simulate(0.5, [], prompt_tokens=512, phase="context", target_output_tokens=2)]  # short

    # Batch curve: b=1 and b=2, each 5 tokens per request in 0.25 + 4 * 0.125 = 0.75 s.
    recs += simulate_batch(prefill=4.0, step=1.0, lengths=[5] * 4, batch_id=200, phase="warmup:batch")
    recs += simulate_batch(prefill=0.25, step=0.125, lengths=[5], batch_id=10, phase="batch")
    recs += simulate_batch(prefill=0.25, step=0.125, lengths=[5, 5], batch_id=11, phase="batch")
    return recs


def test_request_counts(run):
    m = summary.compute(run, GROUPS, WEIGHTS)
    assert m["requests"] == {
        "total": 4,  # a, b, c, d (dataset only)
        "ok": 3,
        "errors": 1,  # d; the warm-up failure is not counted
        "short_outputs": 1,  # the 512-token context probe; the warm-up short outputs are not
        "prompt_tokens": 20 + 20 + 10 + 40,
        "output_tokens": 5 + 3 + 3 + 0,
        "units": 3,  # batches 1, 2, 3 (a and b share batch 1)
        "processes": 1,
        "passes": 1,
        "measured_requests": 4,
        "prompt_token_mismatch": None,  # no server counts in these records
    }


def test_latency_and_throughput(run):
    m = summary.compute(run, GROUPS, WEIGHTS)
    assert m["ttft_s"]["n"] == 3
    assert m["ttft_s"]["units"] == 2  # a and b are one generate() call, c another
    assert m["itl_s"]["units"] == 2
    assert m["ttft_s"]["mean"] == pytest.approx((0.5 + 0.5 + 0.25) / 3)
    assert m["tpot_s"]["mean"] == pytest.approx((0.25 + 0.25 + 0.125) / 3)
    assert m["e2e_s"]["mean"] == pytest.approx((1.5 + 1.0 + 0.5) / 3)
    assert m["e2e_s"]["max"] == pytest.approx(1.5)
    # ITL pooled over the ok dataset requests: 4 + 2 gaps of 0.25, 2 gaps of 0.125
    assert m["itl_s"]["n"] == 8
    assert m["itl_s"]["mean"] == pytest.approx((6 * 0.25 + 2 * 0.125) / 8)
    assert m["itl_s"]["min"] == pytest.approx(0.125)
    # decode TPS per dataset batch: batch 1 (4 + 2) / (13.5 - 12.5) = 6; batch 2 2 / 0.25 = 8
    assert m["decode_tps"]["n"] == 2
    assert m["decode_tps"]["mean"] == pytest.approx(7.0)
    # per stream: (4 + 2 + 2) / (1.0 + 0.5 + 0.25)
    assert m["stream_tps"] == pytest.approx(8 / 1.75)
    # output throughput: 11 tokens / (14.0 - 12.0); warm-up, context and batch phases excluded
    assert m["output_throughput"] == pytest.approx(5.5)


def test_curves(run):
    m = summary.compute(run, GROUPS, WEIGHTS)
    ctx = m["context_load"]["points"]
    assert [p["prompt_tokens"] for p in ctx] == [128, 512]
    assert [p["ttft"]["n"] for p in ctx] == [2, 2]  # warm-up probe not included
    assert ctx[0]["prefill_tokens_per_s"] == pytest.approx(128 / 0.25)
    assert ctx[1]["prefill_tokens_per_s"] == pytest.approx(512 / 0.5)
    batch = m["batch_efficiency"]
    assert [p["batch_size"] for p in batch["points"]] == [1, 2]  # no b=4 from the warm-up
    # thr(1) = 5 / 0.75; thr(2) = 10 / 0.75; efficiency(2) = thr(2) / (2 * thr(1)) = 1
    assert batch["points"][0]["throughput"]["mean"] == pytest.approx(5 / 0.75)
    assert batch["points"][1]["throughput"]["mean"] == pytest.approx(10 / 0.75)
    assert batch["points"][1]["efficiency"] == pytest.approx(1.0)
    assert batch["knee_batch_size"] is None


def test_accuracy_with_wilson_interval(run):
    acc = summary.compute(run, GROUPS, WEIGHTS)["accuracy"]
    assert acc["n"] == 3  # d has a reference but no score: not counted
    assert acc["correct"] == 2.0
    assert acc["mean"] == pytest.approx(2 / 3)
    # Wilson 95% interval for 2 / 3 (published tables: 0.2077 .. 0.9385)
    assert acc["ci95_low"] == pytest.approx(0.2077, abs=1e-4)
    assert acc["ci95_high"] == pytest.approx(0.9385, abs=1e-4)


def test_accuracy_edges(simulate):
    assert summary.accuracy([simulate(0.5)]) is None  # nothing scored
    all_right = [simulate(0.5, score=1.0) for _ in range(4)]
    acc = summary.accuracy(all_right)
    assert acc["mean"] == 1.0
    assert acc["ci95_high"] == pytest.approx(1.0)
    assert acc["ci95_low"] < 1.0  # 4/4 does not prove 100%


def test_memory_groups_are_merged(run):
    mem = summary.compute(run, GROUPS, WEIGHTS)["memory"]
    mb = 2**20
    assert mem["weights_bytes"] == WEIGHTS
    # per phase: the largest value of each view over the phase's groups
    assert mem["phases"]["dataset"] == {
        "rss": 120 * mb,
        "rss_method": "vmhwm",
        "torch_allocated": 50 * mb,
        "torch_reserved": 80 * mb,
        "nvml_process": 90 * mb,
    }
    assert mem["phases"]["context"] == {
        "rss": 90 * mb,
        "rss_method": "sampled",
        "torch_allocated": None,
        "torch_reserved": None,
        "nvml_process": None,
    }
    # overall: largest of everything; the RSS methods differ, so "mixed"
    assert mem["peak"] == {
        "rss": 120 * mb,
        "rss_method": "mixed",
        "torch_allocated": 50 * mb,
        "torch_reserved": 80 * mb,
        "nvml_process": 90 * mb,
    }
    assert mem["activations_kv_bytes"] == (50 - 30) * mb  # peak allocated - weights


def test_memory_without_gpu_views_or_groups():
    cpu_only = [g for g in GROUPS if g["phase"] == "context"]
    mem = summary.memory(cpu_only, 7)
    assert mem["peak"]["rss"] == 90 * 2**20
    assert "activations_kv_bytes" not in mem  # no torch view, no estimate
    assert summary.memory([], 7) == {"weights_bytes": 7, "phases": {}}


def test_report_is_json_ready(run):
    m = summary.compute(run, GROUPS, WEIGHTS)
    assert json.loads(json.dumps(m)) == m


def test_warnings(run):
    m = summary.compute(run, GROUPS, WEIGHTS)
    w = summary.warnings(m)
    print(w)
    assert w[0].startswith("fewer than 3 independent units")
    # a and b share batch 1, c is batch 2: 2 units behind 3 requests
    assert "TTFT (2 units, n=3)" in w[0] and "output throughput (1 unit, n=1)" in w[0]
    # decode TPS samples 6 and 8: sample stdev sqrt(2) = 1.414 is 20.2% of the mean 7
    assert any(x.startswith("stdev above 10%") and "decode TPS (20%)" in x for x in w)
    assert any(x.startswith("p99 from fewer than 100") and "ITL (n=8)" in x for x in w)
    assert w[-2:] == ["1 forced-length outputs came back shorter than asked", "1 requests failed"]


def test_only_the_p99_warning_for_a_clean_run(simulate_batch):
    recs = []
    for p in range(3):  # three passes of one batch: three units everywhere
        batch = simulate_batch(prefill=0.5, step=0.25, lengths=[5, 5], batch_id=p)
        for r in batch:
            r.repeat = p
        recs += batch
    m = summary.compute(recs, [], 0)
    assert m["decode_tps"]["mean"] == pytest.approx(8.0)  # 2 * 4 / 1.0, three times: stdev 0
    assert m["context_load"] is None
    assert m["batch_efficiency"] is None
    assert m["accuracy"] is None
    assert summary.warnings(m) == [
        "p99 from fewer than 100 values is about the maximum: TTFT (n=6), TPOT (n=6), ITL (n=24), E2E (n=6)"
    ]


def test_unstable_curve_points_are_flagged(simulate):
    recs = [
        simulate(0.25, prompt_tokens=128, phase="context"),
        simulate(0.75, prompt_tokens=128, phase="context"),
    ]
    m = summary.compute(recs, [], 0)
    # TTFT 0.25 and 0.75: mean 0.5, sample stdev 0.3536 = 70.7% of the mean
    assert summary.warnings(m) == [
        "fewer than 3 independent units (no CI with 1; a wide one with 2): add --repeats: "
        "TTFT at 128 prompt tokens (2 units, n=2)",
        "stdev above 10% of the mean: numbers may be unstable: TTFT at 128 prompt tokens (71%)",
        "p99 from fewer than 100 values is about the maximum: TTFT at 128 prompt tokens (n=2)",
    ]


def test_one_batch_of_siblings_has_no_ci(simulate_batch):
    recs = simulate_batch(prefill=0.5, step=0.25, lengths=[4] * 8, batch_id=0)
    m = summary.compute(recs, GROUPS, WEIGHTS)
    for key in ("ttft_s", "tpot_s", "e2e_s", "itl_s", "decode_tps"):
        assert m[key]["units"] == 1, key
        assert m[key]["ci95_low"] is None and m[key]["ci95_high"] is None, key
    assert m["ttft_s"]["n"] == 8
    assert m["output_throughput_passes"]["ci95_low"] is None


def test_passes_give_throughput_units(simulate_batch):
    recs = []
    for p in range(3):
        batch = simulate_batch(prefill=0.5, step=0.25 + p / 64, lengths=[4] * 2, batch_id=p)
        for r in batch:
            r.repeat = p
        recs += batch
    m = summary.compute(recs, GROUPS, WEIGHTS)
    thr = m["output_throughput_passes"]
    assert thr["n"] == 3 and thr["ci95_low"] is not None
    assert m["requests"]["passes"] == 3
    assert m["requests"]["total"] == 2 and m["requests"]["measured_requests"] == 6
    assert m["ttft_s"]["units"] == 3


def test_fractional_scores_get_a_bootstrap_interval(simulate_batch):
    recs = simulate_batch(prefill=0.5, step=0.25, lengths=[2] * 6, batch_id=0)
    for r, sc in zip(recs, [0.0, 1 / 3, 2 / 3, 1.0, 1.0, 2 / 3], strict=True):
        r.score = sc
        r.extra["unit"] = f"req{r.request_id}"  # over HTTP every request is a unit
    acc = summary.accuracy(recs)
    assert acc["interval"] == "bootstrap"
    assert 0.0 <= acc["ci95_low"] < acc["mean"] < acc["ci95_high"] <= 1.0
