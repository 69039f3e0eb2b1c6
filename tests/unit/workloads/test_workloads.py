"""Workloads: the packaged GSM8K sample, JSONL files, synthetic placeholders, the registry."""

from __future__ import annotations

import json

import pytest

from infermeter.config import WorkloadConfig, build_config
from infermeter.errors import InfermeterError
from infermeter.metrics.accuracy import last_number
from infermeter.workloads.base import WorkItem, load_items


def _jsonl(tmp_path, *lines: str, name: str = "data.jsonl"):
    p = tmp_path / name
    p.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return p


# -- GSM8K -------------------------------------------------------------------------------------


def test_gsm8k_sample():
    items = load_items(WorkloadConfig(kind="gsm8k"))
    assert len(items) == 8  # the default limit
    assert items[0].reference == "18"  # Janet's ducks: "#### 18"
    assert items[0].prompt.startswith("Question: Janet")
    assert items[0].prompt.endswith("\nAnswer:")
    assert [i.id for i in items] == [f"gsm8k-{k}" for k in range(8)]
    for item in items:
        assert item.scorer == "numeric"
        assert isinstance(item.reference, str)
        assert "," not in item.reference  # thousands separators removed
        assert last_number(item.reference) is not None
        assert float(item.reference) == last_number(item.reference)


def test_gsm8k_limit():
    items = load_items(WorkloadConfig(kind="gsm8k", limit=3))
    assert [i.reference for i in items] == ["18", "3", "70000"]


# -- JSONL -------------------------------------------------------------------------------------


def test_jsonl_good_file(tmp_path):
    p = _jsonl(
        tmp_path,
        json.dumps({"prompt": "Capital of France?", "answer": "Paris"}),
        "",
        "   ",
        json.dumps({"prompt": "2 + 2?", "answer": 4, "id": "sum"}),
        json.dumps({"prompt": "A primary colour?", "answer": ["red", "blue"], "system": "Be brief."}),
        json.dumps({"prompt": "Say hi"}),
    )
    items = load_items(WorkloadConfig(kind="jsonl", path=str(p)))
    assert [i.id for i in items] == ["line-1", "sum", "line-5", "line-6"]  # blank lines 2-3 skipped
    assert [i.reference for i in items] == ["Paris", 4, ["red", "blue"], None]
    assert items[0].prompt == "Capital of France?"
    assert {i.scorer for i in items} == {"contains"}  # auto -> contains for JSONL
    assert items[2].system == "Be brief."
    assert items[2].messages() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "A primary colour?"},
    ]
    assert items[0].messages() == [{"role": "user", "content": "Capital of France?"}]


def test_jsonl_limit_and_scorer(tmp_path):
    p = _jsonl(tmp_path, *(json.dumps({"prompt": f"q{i}", "answer": i}) for i in range(10)))
    items = load_items(WorkloadConfig(kind="jsonl", path=str(p), limit=3, scorer="exact"))
    assert [i.prompt for i in items] == ["q0", "q1", "q2"]
    assert {i.scorer for i in items} == {"exact"}


def test_jsonl_limit_stops_before_a_later_bad_line(tmp_path):
    p = _jsonl(tmp_path, json.dumps({"prompt": "q"}), "{not json")
    assert len(load_items(WorkloadConfig(kind="jsonl", path=str(p), limit=1))) == 1


@pytest.mark.parametrize(
    ("bad_line", "why"),
    [
        ('{"prompt": "q", "answer": }', "not valid JSON"),
        ("{'prompt': 'single quotes'}", "not valid JSON"),
        ('["prompt", "q"]', "expected a JSON object"),
        ('"just a string"', "expected a JSON object"),
        ('{"question": "q", "answer": "a"}', "missing or empty 'prompt'"),
        ('{"prompt": "   "}', "missing or empty 'prompt'"),
        ('{"prompt": 5}', "missing or empty 'prompt'"),
        ('{"prompt": "q", "answer": {"x": 1}}', "unknown answer format: expected a string, a number or a non-empty"),
        ('{"prompt": "q", "answer": true}', "unknown answer format"),
        ('{"prompt": "q", "answers": [["nested"]]}', "unknown answer format"),
    ],
)
def test_jsonl_bad_line_names_file_and_line(tmp_path, bad_line, why):
    p = _jsonl(tmp_path, json.dumps({"prompt": "fine"}), "", bad_line)
    with pytest.raises(InfermeterError) as err:
        load_items(WorkloadConfig(kind="jsonl", path=str(p)))
    msg = str(err.value)
    assert msg.startswith(f"{p}:3: ")  # line 3: the blank line counts
    assert why in msg
    assert "\n" not in msg


def test_jsonl_invalid_json_says_where(tmp_path):
    p = _jsonl(tmp_path, '{"prompt": "q",, "answer": 1}')  # the second comma is column 16
    with pytest.raises(InfermeterError, match=r"data\.jsonl:1: not valid JSON \(.* at column 16\)"):
        load_items(WorkloadConfig(kind="jsonl", path=str(p)))


def test_jsonl_empty_file(tmp_path):
    p = _jsonl(tmp_path, "", "")
    with pytest.raises(InfermeterError) as err:
        load_items(WorkloadConfig(kind="jsonl", path=str(p)))
    assert str(err.value) == "the jsonl workload has no items: nothing to measure"


def test_jsonl_missing_file(tmp_path):
    p = tmp_path / "absent.jsonl"
    with pytest.raises(InfermeterError) as err:
        load_items(WorkloadConfig(kind="jsonl", path=str(p)))
    assert str(err.value) == f"dataset file not found: {p}"


def test_jsonl_without_path():
    with pytest.raises(InfermeterError, match="workload kind jsonl needs a file"):
        load_items(WorkloadConfig(kind="jsonl"))


# -- synthetic and the registry ----------------------------------------------------------------


def test_synthetic_placeholders():
    items = load_items(WorkloadConfig(kind="synthetic", limit=5, prompt_len=32))
    assert [i.id for i in items] == [f"synthetic-{k}" for k in range(5)]
    assert all(i.prompt == "" and i.reference is None for i in items)
    assert all(isinstance(i, WorkItem) for i in items)


def test_unknown_kind():
    # The config accepts any name (a workload registered by a plug-in is valid); the registry refuses
    # an unknown one, naming the kinds it knows, before anything is loaded.
    cfg = build_config(overrides={"kind": "mmlu"}).workload
    with pytest.raises(InfermeterError) as err:
        load_items(cfg)
    msg = str(err.value)
    assert msg.startswith("unknown workload 'mmlu' (known: ")
    known = msg.split("(known: ")[1].rstrip(")").split(", ")
    assert known == sorted(known)
    assert {"csv", "easy-vqa", "gpqa", "gsm8k", "jsonl", "okvqa", "synthetic", "vqav2"} <= set(known)
