"""The OK-VQA / VQAv2 file format, for users who have the files: a questions JSON, an annotations
JSON and a folder of COCO images.

* questions: ``{"data_subtype": "val2014", "questions": [{"question_id", "image_id", "question"}]}``
* annotations: ``{"annotations": [{"question_id", "answers": [{"answer": ...}, ...]}]}`` (ten
  answers per question); optional: without it the items have no reference (speed only).
* images: ``workload.images``; file names follow ``workload.image_pattern``, by default COCO's
  ``COCO_{subtype}_{image_id:012d}.jpg`` (``COCO_val2014_000000123456.jpg``), ``subtype`` being the
  questions file's ``data_subtype``.

Each question is checked before the run: its image must exist and decode, it must have an
annotation, and every annotation must have its question. Scored with the official VQA accuracy.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.workloads.base import ItemList, WorkItem, register_workload
from infermeter.workloads.easy_vqa import INSTRUCTION
from infermeter.workloads.select import BadItem, check_image, existing_file, scorer_for, select

DEFAULT_PATTERN = "COCO_{subtype}_{image_id:012d}.jpg"


def _read(path: Path, key: str) -> tuple[dict[str, Any], list[Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InfermeterError(f"{path}: not a JSON file ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise InfermeterError(f"{path}: expected a JSON object with a {key!r} list (the VQA format)")
    return data, data[key]


def _image_name(pattern: str, image_id: Any, subtype: str) -> str:
    try:
        return pattern.format(image_id=image_id, subtype=subtype)
    except (KeyError, IndexError, ValueError) as err:
        raise InfermeterError(
            f"workload.image_pattern {pattern!r} does not format ({type(err).__name__}: {err}); "
            "it may use {image_id} and {subtype}, e.g. COCO_{subtype}_{image_id:012d}.jpg"
        ) from None


def _references(ann: dict[str, Any], where: str) -> list[str]:
    raw = ann.get("answers")
    if isinstance(raw, list) and raw:
        out = [a.get("answer") if isinstance(a, dict) else a for a in raw]
        texts = [a for a in out if isinstance(a, str)]
        if len(texts) == len(out):
            return texts
    raise BadItem(
        f"{where}: unknown answer format: expected 'answers' as a list of {{'answer': str}} objects, "
        f"got {str(raw)[:80]}"
    )


def _item(q: Any, k: int, ctx: dict[str, Any]) -> WorkItem:
    qfile: Path = ctx["qfile"]
    if not (isinstance(q, dict) and isinstance(q.get("question"), str) and "question_id" in q and "image_id" in q):
        raise BadItem(f"{qfile} question #{k}: expected an object with question_id, image_id and question")
    qid = q["question_id"]
    where = f"{qfile} question_id {qid}"
    reference = None
    if ctx["annotations"] is not None:
        ann = ctx["annotations"].get(qid)
        if ann is None:
            raise BadItem(f"{where}: no annotation in {ctx['afile']}")
        reference = _references(ann, f"{ctx['afile']} question_id {qid}")
    name = _image_name(ctx["pattern"], q["image_id"], ctx["subtype"])
    image = check_image(ctx["images"] / name, where)
    return WorkItem(
        id=str(qid),
        prompt=f"{q['question']}\n{INSTRUCTION}",
        reference=reference,
        scorer=ctx["scorer"],
        images=(image,),
    )


@register_workload("okvqa")
@register_workload("vqav2")
def load_vqa(cfg) -> ItemList:  # noqa: ANN001 - WorkloadConfig
    """``cfg.limit`` questions (first or sampled) with their images and ten annotator answers."""
    if not cfg.path:
        raise InfermeterError(f"workload kind {cfg.kind} needs the questions JSON: --dataset questions.json")
    if not cfg.images:
        raise InfermeterError(f"workload kind {cfg.kind} needs the image folder: --images DIR")
    images = Path(cfg.images)
    if not images.is_dir():
        raise InfermeterError(f"image folder not found: {images}")
    qfile = existing_file(cfg.path, "questions file")
    qdata, questions = _read(qfile, "questions")
    ctx: dict[str, Any] = {
        "qfile": qfile,
        "afile": None,
        "annotations": None,
        "images": images,
        "pattern": cfg.image_pattern or DEFAULT_PATTERN,
        "subtype": str(qdata.get("data_subtype") or "val2014"),
        "scorer": scorer_for(cfg, "vqa"),
    }
    _image_name(ctx["pattern"], 1, ctx["subtype"])  # a broken pattern is a config error, not a bad item
    bad: list[str] = []
    if cfg.annotations:
        afile = existing_file(cfg.annotations, "annotations file")
        _, anns = _read(afile, "annotations")
        by_qid = {a["question_id"]: a for a in anns if isinstance(a, dict) and "question_id" in a}
        asked = {q.get("question_id") for q in questions if isinstance(q, dict)}
        unkeyed = [k for k, a in enumerate(anns) if not (isinstance(a, dict) and "question_id" in a)]
        bad = [f"{afile} annotation #{k}: no question_id" for k in unkeyed]
        bad += [f"{afile} question_id {q}: annotation without a question in {qfile}" for q in by_qid if q not in asked]
        ctx.update(afile=afile, annotations=by_qid)
    return select(cfg, [partial(_item, q, k, ctx) for k, q in enumerate(questions)], bad)
