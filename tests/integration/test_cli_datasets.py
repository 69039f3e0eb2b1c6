"""`infermeter run` on datasets through the CLI: the embedded SmolLM2 on GPQA-diamond and on a CSV
file (with a bad row skipped and counted), and bad dataset input failing with one clear line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import run_cli, run_json

pytestmark = pytest.mark.integration

# The dataset pass only: no first-call probe, no context / batch curves (tested elsewhere).
QUICK = ("--warmup", "none", "--prompt-lens", "", "--batch-sizes", "", "--batch-size", "3")


def _dataset(rep: dict) -> list[dict]:
    # the first pass over the items (run repeats the pass for independent units)
    return [r for r in rep["records"] if r["phase"] == "dataset" and r["repeat"] == 0]


def test_smollm2_on_gpqa(tmp_path: Path) -> None:
    rep = run_json("--workload", "gpqa", "--limit", "3", "--max-new-tokens", "24", *QUICK, tmp=tmp_path)
    main = _dataset(rep)
    assert [r["request_id"] for r in main] == ["gpqa-0", "gpqa-1", "gpqa-2"]
    assert all(r["reference"] in ("A", "B", "C", "D") for r in main)
    assert all(r["text"].strip() and r["score"] in (0.0, 1.0) for r in main)  # per-item correctness kept
    acc = rep["metrics"]["accuracy"]
    assert acc["n"] == 3 and acc["correct"] == sum(r["score"] for r in main)
    assert rep["config"]["workload"]["kind"] == "gpqa" and rep["workload"] == {
        "items": 3,
        "skipped": 0,
        "skipped_reasons": [],
    }
    assert main[0]["prompt_tokens"] > 100  # the question and its four options reached the model


def test_smollm2_on_csv_with_a_bad_row_skipped(tmp_path: Path) -> None:
    data = tmp_path / "qa.csv"
    data.write_text(
        "prompt,answer,answers,image\n"
        "What is the capital of France? Answer in one word.,Paris,,\n"
        "What colour is a clear daytime sky? Answer in one word.,,blue|azure,\n"
        "What is in this picture?,a cat,,pics/missing.png\n"
        "How many legs does a cat have? Answer with a number.,,4|four,\n",
        encoding="utf-8",
    )
    args = ("run", "--dataset", str(data), "--max-new-tokens", "16", *QUICK, "--output", str(tmp_path / "out"))
    proc = run_cli(*args, "--quiet", tmp=tmp_path)
    assert proc.returncode != 0
    err = proc.stderr.strip()
    assert err == (
        f"infermeter: error: {data}:4: image not found: {tmp_path / 'pics' / 'missing.png'} "
        "(--skip-bad to skip such items)"
    )
    assert not (tmp_path / "out").exists()  # refused before any model was loaded

    proc = run_cli(*args, "--quiet", "--skip-bad", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = re.sub(r"\s+", " ", proc.stdout)
    assert "bad items skipped │ 1 (--skip-bad" in out or "bad items skipped 1 (--skip-bad" in out, proc.stdout
    assert "1 bad dataset items skipped (workload.skip_bad)" in out
    (report,) = (tmp_path / "out").glob("*/report.json")
    rep = json.loads(report.read_text())
    assert rep["workload"]["skipped"] == 1 and "missing.png" in rep["workload"]["skipped_reasons"][0]
    main = _dataset(rep)
    assert [r["request_id"] for r in main] == ["row-1", "row-2", "row-4"]
    assert [r["reference"] for r in main] == ["Paris", ["blue", "azure"], ["4", "four"]]
    assert all(r["score"] in (0.0, 1.0) for r in main)
    # The embedded model knows the capital of France: a real scorer on a real answer.
    assert main[0]["score"] == 1.0, main[0]["text"]
    assert rep["metrics"]["accuracy"]["n"] == 3


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        (
            {"qa.csv": "question,answer\nq,a\n"},
            ("--dataset", "{tmp}/qa.csv"),
            "{tmp}/qa.csv: no 'prompt' column (the header has 'question', 'answer'); needed: prompt; "
            "optional: answer, answers, image, id, system",
        ),
        (
            {"q.json": json.dumps({"questions": [{"question_id": 1, "image_id": 1, "question": "?"}]}), "imgs/": ""},
            ("--workload", "okvqa", "--dataset", "{tmp}/q.json", "--images", "{tmp}/imgs"),
            "{tmp}/q.json question_id 1: image not found: {tmp}/imgs/COCO_val2014_000000000001.jpg "
            "(--skip-bad to skip such items)",
        ),
        (
            {"qa.jsonl": '{"prompt": "q", "answer": {"a": 1}}\n'},
            ("--dataset", "{tmp}/qa.jsonl"),
            "{tmp}/qa.jsonl:1: unknown answer format: expected a string, a number or a non-empty list of them, "
            "got dict \"{{'a': 1}}\" (--skip-bad to skip such items)",
        ),
    ],
    ids=["csv-without-prompt", "vqa-missing-image", "jsonl-answer-format"],
)
def test_bad_dataset_input_is_one_line(tmp_path: Path, files: dict, args: tuple, message: str) -> None:
    for name, text in files.items():
        if name.endswith("/"):
            (tmp_path / name).mkdir()
        else:
            (tmp_path / name).write_text(text, encoding="utf-8")
    proc = run_cli("run", "--quiet", *(a.format(tmp=tmp_path) for a in args), tmp=tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.strip() == "infermeter: error: " + message.format(tmp=tmp_path)
