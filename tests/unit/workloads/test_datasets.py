"""Dataset loaders: GPQA-diamond, easy-VQA, the OK-VQA/VQAv2 file format, CSV (and JSONL images);
seeded sampling; bad input (one message naming the file and the item) and ``skip_bad`` counting."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from infermeter.cli import build_parser
from infermeter.cli.flags import overrides as _overrides
from infermeter.config import WorkloadConfig
from infermeter.errors import InfermeterError
from infermeter.workloads.base import load_items
from infermeter.workloads.gpqa import COLUMNS, LETTERS
from infermeter.workloads.gsm8k import package_data

SKIP_HINT = "(--skip-bad to skip such items)"


def _png(path: Path, colour: str = "red") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), colour).save(path)
    return path


def _truncated_jpeg(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), "blue").save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _error(cfg: WorkloadConfig) -> str:
    with pytest.raises(InfermeterError) as err:
        load_items(cfg)
    msg = str(err.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


# -- GPQA-diamond ---------------------------------------------------------------------------------


def _gpqa_rows() -> list[dict[str, str]]:
    with package_data("gpqa", "gpqa_diamond.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _options(prompt: str) -> dict[str, str]:
    return dict(re.findall(r"^([A-D])\) (.*)$", prompt, re.MULTILINE))


def test_gpqa_items_present_shuffled_options_and_the_correct_letter():
    rows = _gpqa_rows()
    items = load_items(WorkloadConfig(kind="gpqa", limit=198))
    assert len(items) == 198 == len(rows)
    assert [i.id for i in items[:3]] == ["gpqa-0", "gpqa-1", "gpqa-2"]
    for item, row in zip(items, rows, strict=True):
        assert item.scorer == "choice" and item.reference in LETTERS
        assert row["Question"].strip() in item.prompt
        assert "'Answer: $LETTER'" in item.prompt
        assert sorted(_options(item.prompt)) == list(LETTERS)
        assert f"\n{item.reference}) {row['Correct Answer'].strip()}" in item.prompt  # the letter is right
        assert all(f") {row[c].strip()}" in item.prompt for c in COLUMNS[2:])
    counts = {letter: sum(i.reference == letter for i in items) for letter in LETTERS}
    assert all(n >= 30 for n in counts.values()), counts  # not always A: about 198/4 each


def test_gpqa_option_order_is_seeded():
    a = load_items(WorkloadConfig(kind="gpqa", limit=20))
    b = load_items(WorkloadConfig(kind="gpqa", limit=20))
    c = load_items(WorkloadConfig(kind="gpqa", limit=20, sample_seed=1))
    assert [i.prompt for i in a] == [i.prompt for i in b]
    assert [i.reference for i in a] != [i.reference for i in c]
    assert [i.id for i in a] == [i.id for i in c]  # the seed moves options, not (with sample=first) items


def test_gpqa_own_file_missing_columns_and_empty_cells(tmp_path):
    p = tmp_path / "gpqa.csv"
    p.write_text("Question,Correct Answer\nq,a\n", encoding="utf-8")
    msg = _error(WorkloadConfig(kind="gpqa", path=str(p)))
    assert msg == f"{p}: missing GPQA columns 'Incorrect Answer 1', 'Incorrect Answer 2', 'Incorrect Answer 3'"
    with p.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerow(["What is 2+2?", "4", "3", "5", "22"])
        w.writerow(["Broken", "", "1", "2", "3"])
    msg = _error(WorkloadConfig(kind="gpqa", path=str(p)))
    assert msg == f"{p}:3: empty 'Correct Answer' {SKIP_HINT}"
    items = load_items(WorkloadConfig(kind="gpqa", path=str(p), skip_bad=True))
    assert len(items) == 1 and items.skipped == [f"{p}:3: empty 'Correct Answer'"]
    assert _options(items[0].prompt)[items[0].reference] == "4"


# -- easy-VQA -------------------------------------------------------------------------------------


def test_easy_vqa_package_items_carry_their_image():
    items = load_items(WorkloadConfig(kind="easy-vqa", limit=5))
    assert [i.id for i in items] == [f"easy-vqa-{k}" for k in range(5)]
    first = items[0]
    assert first.prompt == "what is the red shape?\nAnswer the question using a single word or phrase."
    assert first.reference == "triangle" and first.scorer == "vqa"
    assert len(first.images) == 1 and first.images[0].endswith("/test/images/0.png")
    assert Path(first.images[0]).is_absolute() and Path(first.images[0]).is_file()


def _easy_folder(tmp_path: Path, entries: list) -> Path:
    root = tmp_path / "easy"
    (root / "images").mkdir(parents=True)
    (root / "questions.json").write_text(json.dumps(entries), encoding="utf-8")
    return root


def test_easy_vqa_own_folder_and_bad_items(tmp_path):
    root = _easy_folder(
        tmp_path,
        [
            ["what colour?", "red", 0],
            ["is there a circle?", "no", 1],  # 1.png is missing
            ["what shape?", "circle", 2],  # 2.png is not an image
            ["what shape?", ["circle"], 0],  # the answer is a list
            ["no image id"],
        ],
    )
    _png(root / "images" / "0.png")
    (root / "images" / "2.png").write_bytes(b"GIF89a? no")
    qfile = root / "questions.json"
    cfg = WorkloadConfig(kind="easy-vqa", path=str(root), limit=1)
    assert [i.reference for i in load_items(cfg)] == ["red"]
    msg = _error(WorkloadConfig(kind="easy-vqa", path=str(root)))
    assert msg == f"{qfile} question 1: image not found: {root / 'images' / '1.png'} {SKIP_HINT}"
    items = load_items(WorkloadConfig(kind="easy-vqa", path=str(root), skip_bad=True))
    assert [i.id for i in items] == ["easy-vqa-0"]
    assert len(items.skipped) == 4
    assert items.skipped[0].endswith(f"image not found: {root / 'images' / '1.png'}")
    assert items.skipped[1].startswith(f"{qfile} question 2: corrupt or unreadable image {root / 'images' / '2.png'}")
    assert "unknown answer format" in items.skipped[2]
    assert "expected [question, answer, image_id]" in items.skipped[3]
    assert items.summary() == {"items": 1, "skipped": 4, "skipped_reasons": items.skipped}


def test_easy_vqa_folder_without_questions(tmp_path):
    msg = _error(WorkloadConfig(kind="easy-vqa", path=str(tmp_path)))
    assert msg == f"easy-VQA questions file not found: {tmp_path / 'questions.json'}"


# -- the OK-VQA / VQAv2 format --------------------------------------------------------------------


def _answers(*words: str) -> list[dict]:
    return [{"answer": w, "answer_confidence": "yes", "answer_id": k + 1} for k, w in enumerate(words)]


def _vqa_files(tmp_path: Path, questions: list[dict], annotations: list[dict], subtype: str = "val2014"):
    qfile = tmp_path / "OpenEnded_mscoco_val2014_questions.json"
    afile = tmp_path / "mscoco_val2014_annotations.json"
    qfile.write_text(json.dumps({"data_subtype": subtype, "questions": questions}), encoding="utf-8")
    afile.write_text(json.dumps({"data_subtype": subtype, "annotations": annotations}), encoding="utf-8")
    return qfile, afile, tmp_path / "images"


def _q(qid: int, image_id: int, text: str = "What is this?") -> dict:
    return {"question_id": qid, "image_id": image_id, "question": text}


def _a(qid: int, image_id: int, words: tuple[str, ...]) -> dict:
    return {"question_id": qid, "image_id": image_id, "question_type": "what", "answers": _answers(*words)}


def _coco(images: Path, image_id: int, subtype: str = "val2014") -> Path:
    return _png(images / f"COCO_{subtype}_{image_id:012d}.jpg")


def _vqa_cfg(q: Path, a: Path | None, images: Path, **kw) -> WorkloadConfig:
    return WorkloadConfig(kind="okvqa", path=str(q), annotations=str(a) if a else None, images=str(images), **kw)


def test_vqa_format_good_files(tmp_path):
    ten = ("2", "2", "two", "2", "3", "2", "2", "2", "2", "2")
    q, a, images = _vqa_files(
        tmp_path,
        [_q(4200, 42, "How many cats are there?"), _q(4201, 42), _q(700, 7)],
        [_a(700, 7, ("bus",) * 10), _a(4200, 42, ten), _a(4201, 42, ("cat",) * 10)],
    )
    img42, img7 = _coco(images, 42), _coco(images, 7)
    items = load_items(_vqa_cfg(q, a, images))
    assert [i.id for i in items] == ["4200", "4201", "700"]
    first = items[0]
    assert first.prompt == "How many cats are there?\nAnswer the question using a single word or phrase."
    assert first.reference == list(ten) and first.scorer == "vqa"
    assert first.images == (str(img42.resolve()),)
    assert items[2].images == (str(img7.resolve()),) and items[2].reference == ["bus"] * 10
    assert img42.name == "COCO_val2014_000000000042.jpg"  # the COCO naming the default pattern expects
    # Without annotations the questions still run (speed only): no references.
    assert [i.reference for i in load_items(_vqa_cfg(q, None, images))] == [None, None, None]


def test_vqa_format_subtype_and_custom_pattern(tmp_path):
    q, a, images = _vqa_files(tmp_path, [_q(1, 5)], [_a(1, 5, ("x",) * 10)], subtype="train2014")
    _coco(images, 5, "train2014")
    assert load_items(_vqa_cfg(q, a, images))[0].images[0].endswith("COCO_train2014_000000000005.jpg")
    _png(images / "img-5.png")
    cfg = _vqa_cfg(q, a, images, image_pattern="img-{image_id}.png")
    assert load_items(cfg)[0].images[0].endswith("img-5.png")
    msg = _error(_vqa_cfg(q, a, images, image_pattern="{img}.jpg"))
    assert msg.startswith("workload.image_pattern '{img}.jpg' does not format (KeyError: 'img')")


def test_vqa_question_without_annotation(tmp_path):
    q, a, images = _vqa_files(tmp_path, [_q(1, 5), _q(2, 5)], [_a(1, 5, ("x",) * 10)])
    _coco(images, 5)
    msg = _error(_vqa_cfg(q, a, images))
    assert msg == f"{q} question_id 2: no annotation in {a} {SKIP_HINT}"


def test_vqa_annotation_without_question(tmp_path):
    q, a, images = _vqa_files(tmp_path, [_q(1, 5)], [_a(1, 5, ("x",) * 10), _a(99, 5, ("y",) * 10)])
    _coco(images, 5)
    msg = _error(_vqa_cfg(q, a, images, limit=1))  # found whatever the limit: the files disagree
    assert msg == f"{a} question_id 99: annotation without a question in {q} {SKIP_HINT}"


def test_vqa_missing_and_corrupt_images(tmp_path):
    q, a, images = _vqa_files(tmp_path, [_q(1, 5), _q(2, 6)], [_a(1, 5, ("x",) * 10), _a(2, 6, ("y",) * 10)])
    images.mkdir()
    msg = _error(_vqa_cfg(q, a, images))
    assert msg == f"{q} question_id 1: image not found: {images / 'COCO_val2014_000000000005.jpg'} {SKIP_HINT}"
    _coco(images, 5)
    _truncated_jpeg(images / "COCO_val2014_000000000006.jpg")
    msg = _error(_vqa_cfg(q, a, images))
    assert msg.startswith(
        f"{q} question_id 2: corrupt or unreadable image {images / 'COCO_val2014_000000000006.jpg'} (OSError: "
    )
    assert msg.endswith(SKIP_HINT)


def test_vqa_unknown_answer_format(tmp_path):
    ann = {"question_id": 1, "image_id": 5, "answers": "cat"}
    q, a, images = _vqa_files(tmp_path, [_q(1, 5)], [ann])
    _coco(images, 5)
    msg = _error(_vqa_cfg(q, a, images))
    assert msg.startswith(f"{a} question_id 1: unknown answer format: expected 'answers' as a list of")


def test_vqa_files_and_folders_missing_or_malformed(tmp_path):
    q, a, images = _vqa_files(tmp_path, [_q(1, 5)], [_a(1, 5, ("x",) * 10)])
    assert _error(WorkloadConfig(kind="okvqa", images=str(images))) == (
        "workload kind okvqa needs the questions JSON: --dataset questions.json"
    )
    assert _error(WorkloadConfig(kind="vqav2", path=str(q))) == (
        "workload kind vqav2 needs the image folder: --images DIR"
    )
    assert _error(_vqa_cfg(q, a, tmp_path / "nope")) == f"image folder not found: {tmp_path / 'nope'}"
    images.mkdir()
    assert _error(_vqa_cfg(q, tmp_path / "absent.json", images)) == (
        f"annotations file not found: {tmp_path / 'absent.json'}"
    )
    q.write_text('{"questions": 5}', encoding="utf-8")
    assert _error(_vqa_cfg(q, a, images)) == f"{q}: expected a JSON object with a 'questions' list (the VQA format)"
    q.write_text("{oops", encoding="utf-8")
    assert _error(_vqa_cfg(q, a, images)).startswith(f"{q}: not a JSON file (")


def test_vqa_skip_bad_counts_every_kind_of_bad_item(tmp_path):
    q, a, images = _vqa_files(
        tmp_path,
        [_q(1, 5), _q(2, 6), _q(3, 7), _q(4, 5), {"question": "no ids"}],
        [_a(1, 5, ("x",) * 10), _a(2, 6, ("y",) * 10), _a(4, 5, ("z",) * 10), _a(50, 5, ("w",) * 10)],
    )
    _coco(images, 5)
    _truncated_jpeg(images / "COCO_val2014_000000000006.jpg")
    items = load_items(_vqa_cfg(q, a, images, skip_bad=True))
    assert [i.id for i in items] == ["1", "4"]
    reasons = items.skipped
    assert len(reasons) == 4
    assert reasons[0] == f"{a} question_id 50: annotation without a question in {q}"
    assert reasons[1].startswith(f"{q} question_id 2: corrupt or unreadable image")
    assert reasons[2] == f"{q} question_id 3: no annotation in {a}"
    assert reasons[3] == f"{q} question #4: expected an object with question_id, image_id and question"


# -- CSV (and images in JSONL) --------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_good_file(tmp_path):
    _png(tmp_path / "pics" / "cat.png")
    p = _write(
        tmp_path / "qa.csv",
        "\ufeffprompt,answer,answers,image,id,system\n"
        "Capital of France?,Paris,,,,\n"
        '"Two plus two?",,2|two,,sum,Be brief.\n'
        '"A list, in JSON",,"[""red"", ""blue""]",,,\n'
        '"What animal is this?\nOne word.",cat,,pics/cat.png,,\n'
        "\n"
        "Say hi,,,,,\n",
    )
    items = load_items(WorkloadConfig(kind="csv", path=str(p)))
    assert [i.id for i in items] == ["row-1", "sum", "row-3", "row-4", "row-5"]
    assert [i.reference for i in items] == ["Paris", ["2", "two"], ["red", "blue"], "cat", None]
    assert items[1].system == "Be brief." and items[0].system is None
    assert items[3].prompt == "What animal is this?\nOne word."
    assert items[3].images == (str((tmp_path / "pics" / "cat.png").resolve()),)
    assert all(i.images == () for i in items if i.id != "row-4")
    assert {i.scorer for i in items} == {"contains"}


def test_csv_without_prompt_column(tmp_path):
    p = _write(tmp_path / "qa.csv", "question,answer\nq,a\n")
    assert _error(WorkloadConfig(kind="csv", path=str(p))) == (
        f"{p}: no 'prompt' column (the header has 'question', 'answer'); "
        "needed: prompt; optional: answer, answers, image, id, system"
    )
    empty = _write(tmp_path / "empty.csv", "")
    assert _error(WorkloadConfig(kind="csv", path=str(empty))).startswith(
        f"{empty}: no 'prompt' column (the header has none)"
    )


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ("q,a,extra", "3 fields, but the header has 2"),
        (",a", "missing or empty 'prompt' (a non-empty string)"),
        ('q,"[""a"", oops"', "unknown answer format: 'answers' starts with '[' but is not a JSON list"),
    ],
)
def test_csv_bad_row_names_file_and_line(tmp_path, row, why):
    p = _write(tmp_path / "qa.csv", f"prompt,answers\nfine,ok\n{row}\n")
    msg = _error(WorkloadConfig(kind="csv", path=str(p)))
    assert msg.startswith(f"{p}:3: {why}") and msg.endswith(SKIP_HINT)
    assert len(load_items(WorkloadConfig(kind="csv", path=str(p), skip_bad=True)).skipped) == 1


def test_csv_answers_cell_without_brackets_is_split_on_bars(tmp_path):
    p = _write(tmp_path / "qa.csv", 'prompt,answers\nq,"{""a"": 1}"\nr, x | y |\n')
    assert [i.reference for i in load_items(WorkloadConfig(kind="csv", path=str(p)))] == [['{"a": 1}'], ["x", "y"]]


def test_csv_missing_image(tmp_path):
    p = _write(tmp_path / "qa.csv", "prompt,image\nWhat is it?,pics/absent.png\n")
    assert _error(WorkloadConfig(kind="csv", path=str(p))) == (
        f"{p}:2: image not found: {tmp_path / 'pics' / 'absent.png'} {SKIP_HINT}"
    )


def test_jsonl_image_relative_to_the_file(tmp_path):
    _png(tmp_path / "img" / "a.png")
    (tmp_path / "img" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    p = _write(
        tmp_path / "qa.jsonl",
        json.dumps({"prompt": "colour?", "answer": "red", "image": "img/a.png"})
        + "\n"
        + json.dumps({"prompt": "colour?", "image": "img/bad.png"})
        + "\n",
    )
    items = load_items(WorkloadConfig(kind="jsonl", path=str(p), limit=1))
    assert items[0].images == (str((tmp_path / "img" / "a.png").resolve()),)
    msg = _error(WorkloadConfig(kind="jsonl", path=str(p)))
    assert msg.startswith(f"{p}:2: corrupt or unreadable image {tmp_path / 'img' / 'bad.png'}")


# -- sampling and skip_bad ------------------------------------------------------------------------


def _ids(**kw) -> list[str]:
    return [i.id for i in load_items(WorkloadConfig(kind="gsm8k", **kw))]


def test_seeded_sampling_is_deterministic():
    first = _ids(limit=5)
    assert first == [f"gsm8k-{k}" for k in range(5)]
    a = _ids(limit=5, sample="random", sample_seed=3)
    assert a == _ids(limit=5, sample="random", sample_seed=3)  # same seed, same items, same order
    assert a != first
    assert a != _ids(limit=5, sample="random", sample_seed=4)
    assert _ids(limit=8, sample="random", sample_seed=3)[:5] == a  # a larger limit extends the sample
    assert len(set(_ids(limit=50, sample="random", sample_seed=3))) == 50  # without replacement


def test_limit_beyond_the_data_takes_everything(tmp_path):
    p = _write(tmp_path / "qa.jsonl", "".join(json.dumps({"prompt": f"q{k}"}) + "\n" for k in range(4)))
    items = load_items(WorkloadConfig(kind="jsonl", path=str(p), limit=100, sample="random"))
    assert sorted(i.prompt for i in items) == ["q0", "q1", "q2", "q3"]


def test_skip_bad_fills_up_to_the_limit_and_counts(tmp_path):
    lines = ['{"prompt": "q1"}', "{broken", '{"prompt": ""}', '{"prompt": "q4"}', '{"prompt": "q5"}']
    p = _write(tmp_path / "qa.jsonl", "\n".join(lines) + "\n")
    items = load_items(WorkloadConfig(kind="jsonl", path=str(p), limit=3, skip_bad=True))
    assert [i.prompt for i in items] == ["q1", "q4", "q5"]
    assert items.skipped == [
        f"{p}:2: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        f"{p}:3: missing or empty 'prompt' (a non-empty string)",
    ]
    assert items.summary()["skipped"] == 2
    assert load_items(WorkloadConfig(kind="jsonl", path=str(p), limit=1, skip_bad=True)).skipped == []


def test_everything_bad_is_still_an_error(tmp_path):
    p = _write(tmp_path / "qa.jsonl", "{broken\n[1]\n")
    msg = _error(WorkloadConfig(kind="jsonl", path=str(p), skip_bad=True))
    assert msg.startswith("the jsonl workload has no items: nothing to measure (2 bad items skipped; the first: ")


# -- the CLI flags --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--dataset", "qa.csv"], {"workload.kind": "csv"}),
        (["--dataset", "qa.CSV"], {"workload.kind": "csv"}),
        (["--dataset", "qa.jsonl"], {"workload.kind": "jsonl"}),
        (["--dataset", "qa.txt"], {"workload.kind": "jsonl"}),  # JSON lines under another name
        (["--dataset", "questions.json"], {}),  # VQA questions: the kind comes from --workload / config
        (["--dataset", "qa.csv", "--workload", "gpqa"], {"workload.kind": "gpqa"}),
        (
            ["--workload", "okvqa", "--dataset", "q.json", "--annotations", "a.json", "--images", "imgs"],
            {"workload.kind": "okvqa", "workload.annotations": "a.json", "workload.images": "imgs"},
        ),
        (["--sample", "random", "--skip-bad"], {"workload.sample": "random", "workload.skip_bad": True}),
    ],
)
def test_cli_dataset_flags(argv, expected):
    out = _overrides(build_parser()[0].parse_args(["run", *argv]))
    got = {k: v for k, v in out.items() if k.startswith("workload.") and k != "workload.path"}
    assert got == expected
