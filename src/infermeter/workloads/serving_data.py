"""Serving datasets as ``vllm bench serve`` reads them: ShareGPT, multi-turn conversations, HF-style JSON.

* ``sharegpt``: a JSON array (or JSONL) of ``{"conversations": [{"from": "human", "value": ...},
  {"from": "gpt", "value": ...}, ...]}``. As vLLM does: the first human turn is the prompt, the
  reply after it sets the output length (its token count, taken by the client tokenizer and sent
  as ``max_tokens``). A conversation without a reply is skipped, as vLLM skips it.
* ``multi-turn``: the same files, every human turn a request carrying the conversation before it
  (the dataset's own replies as history, so requests are known before the run and equal across
  servers). Turns are ordered turn 1 of every conversation, then turn 2, ...; ``load`` sends a
  turn only after the turn before it completed. ``limit`` counts conversations.
* ``hf-json``: JSON (an array, or ``{"data"|"rows": [...]}``) or JSONL rows; ``columns`` renames
  ``prompt`` (required), ``system``, ``output_len`` (tokens) and ``reply`` (text whose length is the
  output length).

Without ``--dataset``, ``sharegpt`` and ``multi-turn`` read the packaged sample (GSM8K questions and
worked answers as conversations, ``samples/sharegpt_gsm8k.json``). :func:`detect_kind` names a file's
format; a file it cannot place is an error naming the formats, never a silent fallback.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.workloads.base import ItemList, WorkItem, register_workload
from infermeter.workloads.select import BadItem, existing_file, select

SAMPLES = Path(__file__).parent / "samples"
FORMATS = (
    'ShareGPT (a JSON array or JSONL of {"conversations": [{"from", "value"}, ...]}), '
    'prompt rows (JSON/JSONL objects with a "prompt" column; --columns renames it), '
    'a trace (JSONL of {"timestamp" (ms), "input_length", "output_length"}), CSV with a prompt column'
)
_HUMAN, _BOT = ("human", "user"), ("gpt", "assistant", "bot", "chatgpt", "model")


def read_rows(path: Path) -> list[Any]:
    """A JSON array, ``{"data"|"rows": [...]}``, or JSONL (one value per line), with a clear error."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise InfermeterError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        for key in ("data", "rows", "conversations"):
            if isinstance(data.get(key), list):
                return data[key] if key != "conversations" else [data]
        return [data]
    if isinstance(data, list):
        return data
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise InfermeterError(f"{path}:{n}: not valid JSON ({err.msg} at column {err.colno})") from None
    return rows


def detect_kind(path: str | Path) -> str | None:
    """The workload kind of a dataset file; None for a JSON that is none of ours (e.g. VQA questions)."""
    p = existing_file(path, "dataset file")
    if p.suffix.lower() == ".csv":
        return "csv"
    first = _first_value(p)
    if isinstance(first, dict):
        if "questions" in first and isinstance(first["questions"], list):
            return None  # a VQA questions file: --workload okvqa / vqav2
        if "conversations" in first:
            return "sharegpt"
        if "timestamp" in first:
            return "trace"
        if "prompt" in first:
            return "jsonl"
    raise InfermeterError(f"{p}: dataset format not recognised; expected one of: {FORMATS}; or name it with "
                          "--dataset-name")  # fmt: skip


def kind_for_file(path: str) -> str | None:
    """``--dataset``'s workload kind: from the content when the file is there, else from its suffix.

    A ``.json`` that is none of ours (VQA questions) leaves the kind to ``--workload``; any other
    file whose format is not recognised is an error naming the formats.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if not p.is_file() or p.stat().st_size < 4096 and not p.read_bytes().strip():  # the loader says what is wrong
        return None if suffix == ".json" else "jsonl"
    try:
        return detect_kind(p)
    except InfermeterError:
        if suffix == ".json":
            return None
        raise


def _first_value(path: Path) -> Any:
    """The first row of a JSON array / object / JSONL file (only the first line of a JSONL is parsed)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        line = next((ln for ln in text.splitlines() if ln.strip()), "")
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            return None
    if isinstance(data, dict) and isinstance(data.get("data", data.get("rows")), list):
        data = data.get("data", data.get("rows"))
    return data[0] if isinstance(data, list) and data else data


def _turns(row: Any, where: str) -> list[tuple[str, str]]:
    """(role, text) pairs of one ShareGPT conversation, roles as ``user``/``assistant``."""
    if not isinstance(row, dict) or "conversations" not in row:
        raise InfermeterError(f"{where}: not a ShareGPT conversation: no 'conversations' key (expected {FORMATS})")
    conv = row["conversations"]
    if not isinstance(conv, list):
        raise InfermeterError(f'{where}: \'conversations\' must be a list of {{"from", "value"}} turns')
    out: list[tuple[str, str]] = []
    for t in conv:
        text = t.get("value", t.get("content")) if isinstance(t, dict) else None
        if not isinstance(text, str):
            raise BadItem(f"{where}: a turn without a 'value' string")
        who = str(t.get("from", t.get("role", ""))).lower()
        out.append(("user" if who in _HUMAN else "assistant" if who in _BOT else who, text))
    return out


def _sharegpt_file(cfg: Any) -> Path:
    return existing_file(cfg.path, "dataset file") if cfg.path else SAMPLES / "sharegpt_gsm8k.json"


@register_workload("sharegpt")
def load_sharegpt(cfg) -> ItemList:  # noqa: ANN001 - WorkloadConfig
    """First human turn as the prompt, the reply after it as the output length (vLLM's ShareGPT)."""
    path = _sharegpt_file(cfg)
    rows = read_rows(path)
    convs = [_turns(row, f"{path} item {i}") for i, row in enumerate(rows)]

    def item(i: int) -> WorkItem:
        turns = convs[i]
        if len(turns) < 2 or turns[0][0] != "user" or turns[1][0] != "assistant":
            raise BadItem(f"{path} item {i}: no human turn followed by a reply")
        ident = rows[i].get("id", f"sharegpt-{i}")
        return WorkItem(id=str(ident), prompt=turns[0][1], scorer="none", meta=(("reply", turns[1][1]),))

    usable = [i for i, t in enumerate(convs) if len(t) >= 2]  # vLLM skips conversations without a reply
    return select(cfg, [partial(item, i) for i in usable])


@register_workload("multi-turn")
def load_multi_turn(cfg) -> ItemList:  # noqa: ANN001 - WorkloadConfig
    """Every human turn of ``limit`` conversations, with the conversation so far as history."""
    path = _sharegpt_file(cfg)
    rows = read_rows(path)
    per_conv: list[list[WorkItem]] = []
    for i, row in enumerate(rows):
        if len(per_conv) >= cfg.limit:
            break
        turns, ident = _turns(row, f"{path} item {i}"), str(row.get("id", f"conv-{i}"))
        items = []
        for t in range(0, len(turns) - 1, 2):
            (r1, q), (r2, a) = turns[t], turns[t + 1]
            if r1 != "user" or r2 != "assistant":
                break
            meta = (("reply", a), ("conversation", ident), ("turn", t // 2 + 1))
            items.append(WorkItem(id=f"{ident}-t{t // 2 + 1}", prompt=q, scorer="none", history=tuple(turns[:t]),
                                  meta=meta))  # fmt: skip
        if items:
            per_conv.append(items)
    ordered = [c[t] for t in range(max((len(c) for c in per_conv), default=0)) for c in per_conv if t < len(c)]
    pos = {it.id: n for n, it in enumerate(ordered)}
    out = []
    for it in ordered:  # "after": how many items earlier the turn before this one is (load waits for it)
        turn = dict(it.meta)["turn"]
        prev = f"{dict(it.meta)['conversation']}-t{turn - 1}"
        after = (("after", pos[it.id] - pos[prev]),) if turn > 1 else ()
        out.append(WorkItem(**{**it.__dict__, "meta": it.meta + after}))
    return ItemList(out)


@register_workload("hf-json")
def load_hf_json(cfg) -> ItemList:  # noqa: ANN001 - WorkloadConfig
    """Rows of a JSON/JSONL file, columns named by ``cfg.columns`` (prompt, system, output_len, reply)."""
    if not cfg.path:
        raise InfermeterError("workload hf-json needs a file: --dataset PATH (--columns prompt=COL,...)")
    path = existing_file(cfg.path, "dataset file")
    cols = {"prompt": "prompt", "system": "system", "output_len": "output_len", "reply": "reply", **cfg.columns}
    rows = read_rows(path)
    if rows and isinstance(rows[0], dict) and cols["prompt"] not in rows[0]:
        raise InfermeterError(
            f"{path}: no column {cols['prompt']!r} (columns: {', '.join(list(rows[0])[:12])}); "
            "use --columns prompt=NAME"
        )

    def item(i: int) -> WorkItem:
        row, where = rows[i], f"{path} row {i}"
        if not isinstance(row, dict) or not isinstance(row.get(cols["prompt"]), str):
            raise BadItem(f"{where}: no {cols['prompt']!r} string")
        n = row.get(cols["output_len"])
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            raise BadItem(f"{where}: {cols['output_len']!r} must be a positive integer, got {n!r}")
        reply = row.get(cols["reply"])
        meta = (("reply", reply),) if isinstance(reply, str) and n is None else ()
        return WorkItem(id=str(row.get("id", f"row-{i}")), prompt=row[cols["prompt"]], scorer="none",
                        system=row.get(cols["system"]) or None, output_len=n, meta=meta)  # fmt: skip

    return select(cfg, [partial(item, i) for i in range(len(rows))])
