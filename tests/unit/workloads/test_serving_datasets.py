"""The serving datasets: ShareGPT, multi-turn, HF-style rows, random lengths, sonnet, traces, format detection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from infermeter.config import WorkloadConfig
from infermeter.errors import InfermeterError
from infermeter.workloads.base import load_items
from infermeter.workloads.serving_data import SAMPLES, detect_kind, kind_for_file
from infermeter.workloads.serving_synth import draw_lengths, random_items


def _write(path: Path, rows: list, jsonl: bool = False) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) if jsonl else json.dumps(rows), encoding="utf-8")
    return path


def test_packaged_samples_are_recognised():
    assert detect_kind(SAMPLES / "sharegpt_gsm8k.json") == "sharegpt"
    assert detect_kind(SAMPLES / "trace_gsm8k.jsonl") == "trace"


def test_sharegpt_first_human_turn_and_its_reply(tmp_path):
    rows = [
        {"id": "a", "conversations": [{"from": "human", "value": "q1"}, {"from": "gpt", "value": "r1 r1"}]},
        {"id": "lonely", "conversations": [{"from": "human", "value": "no reply"}]},  # skipped, as vLLM does
        {"id": "c", "conversations": [{"from": "human", "value": "q3"}, {"from": "gpt", "value": "r3"},
                                      {"from": "human", "value": "later"}, {"from": "gpt", "value": "x"}]},
    ]  # fmt: skip
    items = load_items(WorkloadConfig(kind="sharegpt", path=str(_write(tmp_path / "s.json", rows)), limit=10))
    assert [(it.id, it.prompt, dict(it.meta)["reply"]) for it in items] == [("a", "q1", "r1 r1"), ("c", "q3", "r3")]
    jsonl = _write(tmp_path / "s.jsonl", rows, jsonl=True)  # ShareGPT as JSON lines reads the same
    assert [it.id for it in load_items(WorkloadConfig(kind="sharegpt", path=str(jsonl), limit=10))] == ["a", "c"]


def test_sharegpt_without_conversations_is_a_clear_error(tmp_path):
    bad = _write(tmp_path / "bad.json", [{"id": 1, "turns": []}])
    with pytest.raises(InfermeterError, match=r"item 0: not a ShareGPT conversation: no 'conversations' key"):
        load_items(WorkloadConfig(kind="sharegpt", path=str(bad)))


def test_multi_turn_orders_turns_and_points_at_the_previous_one():
    items = load_items(WorkloadConfig(kind="multi-turn", limit=3))  # the sample's 3-turn chains
    assert [dict(it.meta)["turn"] for it in items] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    for n, it in enumerate(items):
        meta = dict(it.meta)
        assert len(it.history) == 2 * (meta["turn"] - 1)  # every earlier question and reply
        if meta["turn"] > 1:
            prev = items[n - meta["after"]]
            assert dict(prev.meta)["conversation"] == meta["conversation"]
            assert dict(prev.meta)["turn"] == meta["turn"] - 1
            assert it.history[-2:] == (("user", prev.prompt), ("assistant", dict(prev.meta)["reply"]))
    assert items[3].messages()[0] == {"role": "user", "content": items[0].prompt}


def test_hf_json_columns(tmp_path):
    rows = [{"question": "a?", "n": 5, "sys": "be brief"}, {"question": "b?", "n": 0}]
    path = _write(tmp_path / "rows.jsonl", rows, jsonl=True)
    cfg = WorkloadConfig(kind="hf-json", path=str(path), columns={"prompt": "question", "output_len": "n",
                         "system": "sys"}, skip_bad=True)  # fmt: skip
    items = load_items(cfg)
    assert [(it.prompt, it.output_len, it.system) for it in items] == [("a?", 5, "be brief")]
    assert "'n' must be a positive integer" in items.skipped[0]
    with pytest.raises(InfermeterError, match=r"no column 'prompt' \(columns: question, n, sys\)"):
        load_items(WorkloadConfig(kind="hf-json", path=str(path)))


@pytest.mark.parametrize(
    ("spec", "check"),
    [
        ("prompt_tokens=64,output_tokens=16", lambda i, o: set(i) == {64} and set(o) == {16}),
        ("prompt_tokens=10-20,output_tokens=3", lambda i, o: min(i) >= 10 and max(i) <= 20 and len(set(i)) > 3),
        (
            "prompt_tokens=100,prompt_tokens_stdev=30,prompt_tokens_min=80,prompt_tokens_max=120,output_tokens=8",
            lambda i, o: min(i) >= 80 and max(i) <= 120 and len(set(i)) > 5,
        ),
    ],
)
def test_random_length_distributions(spec, check):
    items = random_items(WorkloadConfig(kind="random", lengths=spec), 200, 128)
    ins = [dict(it.meta)["input_len"] for it in items]
    outs = [it.output_len for it in items]
    assert len(items) == 200 and check(ins, outs)
    again = random_items(WorkloadConfig(kind="random", lengths=spec), 200, 128)
    assert [dict(it.meta)["input_len"] for it in again] == ins  # seeded


def test_random_length_spec_errors():
    for bad in ("prompt_tokens=x", "colour=3", "prompt_tokens=20-10", "prompt_tokens=0"):
        with pytest.raises(InfermeterError, match="--lengths"):
            random_items(WorkloadConfig(kind="random", lengths=bad), 4, 16)
    assert draw_lengths({"k": 0.5, "k_min": 1}, "k", 3, np.random.default_rng(0)) == [1, 1, 1]


def test_negative_lengths_are_one_clear_error():
    # -1 once passed for the internal range marker (then crashed looking up the range's bounds)
    for bad in ("prompt_tokens=-1", "output_tokens=-5", "prompt_tokens=64,prompt_tokens_stdev=-3"):
        with pytest.raises(InfermeterError, match="cannot be negative"):
            random_items(WorkloadConfig(kind="random", lengths=bad), 4, 16)


def test_sonnet_prompts_share_their_prefix():
    items = load_items(WorkloadConfig(kind="sonnet", prompt_len=200, prefix_len=100, limit=4))
    first = items[0].prompt
    common = min(len(a) for a in (it.prompt for it in items))
    shared = next((n for n in range(common) if any(it.prompt[n] != first[n] for it in items)), common)
    assert shared >= 100 * 4 * 0.9  # ~prefix_len tokens at 4 characters each
    assert len({it.prompt for it in items}) == 4  # the tails differ
    with pytest.raises(InfermeterError, match="prefix_len"):
        load_items(WorkloadConfig(kind="sonnet", prompt_len=50, prefix_len=50))


def test_trace_lines_and_backwards_timestamps(tmp_path):
    items = load_items(WorkloadConfig(kind="trace", path=str(SAMPLES / "trace_gsm8k.jsonl")))
    at = [dict(it.meta)["at_s"] for it in items]
    assert len(items) == 40 and at == sorted(at) and at[0] == 0.0
    assert all(it.output_len and dict(it.meta)["input_len"] >= 8 for it in items)
    back = tmp_path / "back.jsonl"
    back.write_text('{"timestamp": 10, "input_length": 5}\n{"timestamp": 5, "input_length": 5}\n', encoding="utf-8")
    with pytest.raises(InfermeterError, match=r"back.jsonl:2: timestamp 5 goes backwards"):
        load_items(WorkloadConfig(kind="trace", path=str(back)))
    nolen = tmp_path / "nolen.jsonl"
    nolen.write_text('{"timestamp": 1}\n', encoding="utf-8")
    with pytest.raises(InfermeterError, match="input_length"):
        load_items(WorkloadConfig(kind="trace", path=str(nolen)))


def test_format_detection_names_the_formats(tmp_path):
    rows = _write(tmp_path / "rows.jsonl", [{"prompt": "hi"}], jsonl=True)
    assert detect_kind(rows) == "jsonl"
    odd = _write(tmp_path / "odd.jsonl", [{"colour": "red"}], jsonl=True)
    with pytest.raises(InfermeterError, match="format not recognised; expected one of: ShareGPT"):
        detect_kind(odd)
    vqa = tmp_path / "questions.json"
    vqa.write_text(json.dumps({"questions": [{"question": "what?"}]}), encoding="utf-8")
    assert kind_for_file(str(vqa)) is None  # VQA questions: --workload okvqa says so
    assert kind_for_file(str(tmp_path / "absent.jsonl")) == "jsonl"  # the loader reports it missing
