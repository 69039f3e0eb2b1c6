"""tune's decisions as pure functions of configs and compare results (no model loaded)."""

from __future__ import annotations

import pytest

from infermeter.api.tune import check_fit, model_fit
from infermeter.cli.tune import parse_duration
from infermeter.config import build_config
from infermeter.errors import InfermeterError
from infermeter.scenarios.tune import (
    Candidate,
    check_budget,
    closest_to_slo,
    combine,
    meets,
    parse_slo,
    plan,
    rows,
    select,
)


def _names(cands):
    return [c.name for c in cands]


def test_plan_hf_on_cuda_and_cpu():
    cfg = build_config({"model": {"name": "qwen3-1.7b"}, "workload": {"kind": "synthetic", "batch_size": 1}})
    cands, skipped = plan(cfg, "cuda", None)
    assert _names(cands) == [
        "eager vs sdpa",
        "float16 vs bfloat16",
        "static cache",
        "static cache + compile",
        "batch 8",
    ]
    assert [s["name"] for s in skipped] == ["response cache"]
    cands, _ = plan(cfg, "cpu", None)
    assert "bfloat16 vs float32" in _names(cands) and "batch 4" in _names(cands)
    static = build_config({"model": {"cache": "static"}})
    assert not any("static" in n for n in _names(plan(static, "cpu", None)[0]))


def test_plan_vllm_and_repeats():
    cfg = build_config({"backend": "vllm", "workload": {"repeat_ratio": 0.3, "limit": 40}})
    cands, _ = plan(cfg, "cuda", None)
    assert _names(cands)[:3] == ["prefix caching", "chunked prefill", "max_num_seqs=256"]
    why = next(s["why"] for s in plan(cfg, "cuda", None)[1] if s["name"] == "response cache")
    assert "--cache lru:40 --repeat-ratio 0.3" in why  # compare replays one input: run measures a cache


def test_larger_batch_is_capped_by_memory():
    cfg = build_config({"workload": {"kind": "synthetic", "batch_size": 1}})
    fit = {"device_bytes": 100, "weights_bytes": 40, "kv_bytes_per_sequence": 10}  # room for 4 sequences
    assert "batch 4" in _names(plan(cfg, "cuda", fit)[0])
    fit["weights_bytes"] = 75  # room for 0.5 sequences: no larger batch
    cands, skipped = plan(cfg, "cuda", fit)
    assert not any(n.startswith("batch") for n in _names(cands))
    assert any(s["name"] == "larger batch" for s in skipped)


def test_select_and_unknown_candidate():
    cands, _ = plan(build_config({}), "cpu", None)
    assert _names(select(cands, ("static",))) == ["static cache", "static cache + compile"]
    with pytest.raises(InfermeterError, match="no candidate matches"):
        select(cands, ("flash",))


def test_model_too_large_is_one_line_before_loading():
    cfg = build_config({"model": {"name": "qwen3-8b", "dtype": "bfloat16"}})
    fit = model_fit(cfg, "cpu")
    assert fit["weights_bytes"] == 8_190_735_360 * 2
    fit["device_bytes"] = 12 * 10**9
    with pytest.raises(InfermeterError, match=r"qwen3-8b does not fit: its weights need 16.4 GB in bfloat16"):
        check_fit("qwen3-8b", "cuda", fit)


def test_budget_too_small_for_one_comparison():
    with pytest.raises(InfermeterError, match="too small for one comparison"):
        check_budget(30, "cpu", 2)
    check_budget(120, "cpu", 2)
    assert parse_duration("2m") == 120 and parse_duration("90s") == 90 and parse_duration("1h") == 3600
    with pytest.raises(InfermeterError, match="duration"):
        parse_duration("soon")


def test_slo_parsing_and_checks():
    assert parse_slo("ttft_s<0.2") == ("ttft_s", "<", 0.2)
    assert parse_slo("decode_tps>=100") == ("decode_tps", ">=", 100.0)
    with pytest.raises(InfermeterError, match="--slo"):
        parse_slo("latency<1")
    assert meets(("ttft_s", "<", 0.2), {"ttft_s": {"mean": 0.1}}) is True
    assert meets(("decode_tps", ">", 100), {"decode_tps": {"mean": 90}}) is False
    assert meets(None, {}) is None


def _ratio(variant, speedup, lo, hi, significant):
    return {"metric": "decode_tps", "baseline": "baseline", "variant": variant, "speedup": speedup,
            "ci95_low": lo, "ci95_high": hi, "n": 3, "significant": significant, "verdict": "..."}  # fmt: skip


def _summary(tps, first, peak):
    return {"summary": {"decode_tps": {"mean": tps}, "first_call_s": {"mean": first}, "peak_memory": {"rss": peak}}}


CANDS = [
    Candidate("eager vs sdpa", {"model.attn_implementation": "eager"}, True),
    Candidate("static cache", {"model.kv_cache": "static", "model.compile": "off"}, False),
    Candidate(
        "static cache + compile",
        {"model.kv_cache": "static", "model.compile": "on"},
        True,
        supersedes=("static cache",),
    ),
    Candidate("batch 8", {"workload.batch_size": 8}, False),
]
COMPARE = {
    "variants": {
        "baseline": _summary(60.0, 1.0, 1000),
        "eager vs sdpa": _summary(59.0, 1.0, 1000),
        "static cache": _summary(80.0, 2.0, 1100),
        "static cache + compile": _summary(258.0, 21.0, 1200),
        "batch 8": _summary(400.0, 1.5, 3000),
    },
    "ratios": [
        _ratio("eager vs sdpa", 0.98, 0.95, 1.01, False),
        _ratio("static cache", 1.33, 1.2, 1.4, True),
        _ratio("static cache + compile", 4.3, 3.8, 4.8, True),
        _ratio("batch 8", 6.6, 6.0, 7.2, True),
    ],
}


def test_rows_rank_gains_first_with_first_call_and_memory_deltas():
    ranked = rows(COMPARE, CANDS, "decode_tps", None)
    assert [r["name"] for r in ranked] == ["batch 8", "static cache + compile", "static cache", "eager vs sdpa"]
    compiled = ranked[1]
    assert compiled["first_call_delta_s"] == 20.0 and compiled["memory_delta_bytes"] == 200
    assert not ranked[-1]["gain"]


def test_combine_keeps_better_and_skips_superseded():
    ranked = rows(COMPARE, CANDS, "decode_tps", None)
    chosen, merged = combine(ranked, CANDS)
    assert chosen == ["batch 8", "static cache + compile"]  # "static cache" is inside the compiled one
    assert merged == {"workload.batch_size": 8, "model.kv_cache": "static", "model.compile": "on"}


def test_slo_nobody_meets_names_the_closest():
    slo = parse_slo("decode_tps>1000")
    ranked = rows(COMPARE, CANDS, "decode_tps", slo)
    assert not any(r["meets_slo"] for r in ranked)
    assert closest_to_slo(ranked, slo, {"name": "baseline", "slo_value": 60.0})["name"] == "batch 8"
    met = parse_slo("decode_tps>100")
    assert closest_to_slo(rows(COMPARE, CANDS, "decode_tps", met), met, None) is None  # somebody meets it


def test_unmeasured_candidate_is_reported_not_ranked_as_gain():
    partial = {"variants": {"baseline": _summary(60.0, 1.0, 1)}, "ratios": []}
    ranked = rows(partial, CANDS[:1], "decode_tps", None)
    assert ranked == [{"name": "eager vs sdpa", "measured": False, "overrides": CANDS[0].overrides}]
    assert combine(ranked, CANDS) == ([], {})


def test_resume_adopts_a_killed_ladder_with_enough_rounds(tmp_path):
    import json

    from infermeter.api.tune import _finished_ladder

    ladder = tmp_path / "20261130-120000-compare-baseline-vs-eager-ab12"
    ladder.mkdir()
    comp = {"names": ["baseline", "eager vs sdpa"], "rounds": 1, "ratios": [_ratio("eager vs sdpa", 1, 0.9, 1.1, 0)]}
    (ladder / "report.json").write_text(json.dumps({"compare": comp}))
    assert _finished_ladder(tmp_path, 2) is None  # one round: no CI yet, measured again
    comp["rounds"] = 2
    (ladder / "report.json").write_text(json.dumps({"compare": comp}))
    assert _finished_ladder(tmp_path, 2)["compare"]["rounds"] == 2


def test_tune_lines_read_like_the_ranked_table():
    from infermeter.render.console_tune import ladder_html, lines

    ranked = rows(COMPARE, CANDS, "decode_tps", None)
    ranked[1]["accuracy"] = "accuracy unchanged 80.0% -> 80.0% (n=50)"
    data = {
        "tune": {
            "metric": "decode_tps", "rounds": 3, "ranked": ranked, "skipped": [], "slo": None,
            "best": {"chosen": ["batch 8"], "overrides": {"workload.batch_size": 8}, "verify": None,
                     "roofline": {"mbu": 0.22, "limit_tps_batch1": 1244.0}},
            "baseline": {}, "elapsed_s": 100.0, "budget_s": 300.0,
        }
    }  # fmt: skip
    text = "\n".join(lines(data))
    assert "static cache + compile: 4.30x decode [3.80, 4.80], +20.0 s first call" in text
    assert "accuracy unchanged" in text
    assert "eager vs sdpa: no significant difference (0.98x decode [0.95, 1.01])" in text
    assert "best decode at 22% of this device's memory bandwidth limit (1,244 tok/s at batch 1)" in text
    assert "<table" in ladder_html(data)[0] and "static cache + compile" in ladder_html(data)[0]
