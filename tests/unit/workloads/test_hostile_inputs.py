"""Dataset and option inputs that used to be accepted silently or misreported."""

from __future__ import annotations

import json

import pytest

from infermeter.config import WorkloadConfig, build_config
from infermeter.errors import InfermeterError
from infermeter.scenarios.compare import CompareOptions
from infermeter.workloads.base import load_items


def test_jsonl_with_raw_line_separators_inside_strings_is_read(tmp_path):
    p = tmp_path / "d.jsonl"
    rows = [{"prompt": "a\u2028b", "answer": "x"}, {"prompt": "c\u0085d\u2029e", "answer": "y"}]
    p.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    items = load_items(WorkloadConfig(kind="jsonl", path=str(p), limit=10))
    assert [it.prompt for it in items] == ["a\u2028b", "c\u0085d\u2029e"]


def test_csv_duplicate_columns_and_unterminated_quotes_fail(tmp_path):
    dup = tmp_path / "dup.csv"
    dup.write_text("prompt,answer,answer\nq,1,2\n")
    with pytest.raises(InfermeterError, match="'answer' twice"):
        load_items(WorkloadConfig(kind="csv", path=str(dup), limit=10))
    open_quote = tmp_path / "q.csv"
    open_quote.write_text('prompt,answer\n"what is,1\nb,2\nc,3\n')
    with pytest.raises(InfermeterError, match="q.csv"):
        load_items(WorkloadConfig(kind="csv", path=str(open_quote), limit=10))


def test_sampling_at_temperature_zero_fails_before_any_model_loads():
    with pytest.raises(InfermeterError, match="--do-sample"):
        build_config({}, {"generation.do_sample": True, "generation.temperature": 0.0})


@pytest.mark.parametrize("ci", [-1.0, 0.0, 1.5])
def test_target_ci_outside_a_fraction_fails(ci):
    with pytest.raises(InfermeterError, match="--target-ci"):
        CompareOptions(target_ci=ci).validate(2)


def test_a_lone_surrogate_in_a_prompt_is_a_bad_item(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_text('{"prompt": "bad \\ud800 here", "answer": "x"}\n', encoding="utf-8")
    with pytest.raises(InfermeterError, match="lone surrogate"):
        load_items(WorkloadConfig(kind="jsonl", path=str(p), limit=10))


def test_a_decompression_bomb_image_is_a_bad_item(tmp_path):
    from PIL import Image

    from infermeter.workloads.select import BadItem, check_image

    bomb = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)  # ~50 KB on disk, 400 M pixels decoded
    with pytest.raises(BadItem, match="too large to decode"):
        check_image(bomb, "item 1")
