"""Serving workloads of drawn lengths: ``random`` (length distributions), ``sonnet`` (shared prefix), ``trace``.

* ``random``: prompt and output lengths drawn from ``workload.lengths``, GuideLLM's spec
  ``prompt_tokens=256,output_tokens=128`` where each length is fixed (``256``), a uniform range
  (``128-512``), or normal with ``prompt_tokens_stdev``/``_min``/``_max`` (and ``output_tokens_...``).
  Prompts are ordinary token ids drawn by the client (exact lengths); outputs are forced to their
  drawn length, as vLLM's random dataset ignores EOS.
* ``sonnet``: vLLM's sonnet layout: every prompt starts with the same ``prefix_len`` tokens of text
  lines, then lines drawn at random up to ``prompt_len`` tokens, so a prefix cache has something to
  reuse. The lines come from ``--dataset`` (any text file, e.g. vLLM's sonnet.txt) or, by default,
  the packaged GSM8K questions. Sizes are estimated at 4 characters per token; records keep the
  real counts.
* ``trace``: a JSONL trace in the Mooncake layout, ``{"timestamp": ms, "input_length": n,
  "output_length": m, "hash_ids": [...]}`` per line (``prompt`` text may replace the length).
  ``load`` sends each request at its recorded time (``--trace-speed 2`` twice as fast). Prompts
  sharing a ``hash_ids`` block share those tokens (512 per block), as in the trace's cache.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from infermeter.errors import InfermeterError
from infermeter.workloads.base import ItemList, WorkItem, register_workload
from infermeter.workloads.gsm8k import gsm8k_path
from infermeter.workloads.select import existing_file
from infermeter.workloads.serving import CHARS_PER_TOKEN

TRACE_BLOCK_TOKENS = 512  # Mooncake's hash block size


def _lengths_spec(text: str | None, prompt_len: int, output_len: int) -> dict[str, float]:
    spec: dict[str, float] = {"prompt_tokens": prompt_len, "output_tokens": output_len}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        known = key.removesuffix("_stdev").removesuffix("_min").removesuffix("_max") in spec
        m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", value)
        if sep and known and m and key in ("prompt_tokens", "output_tokens"):
            spec[key + "_min"], spec[key + "_max"], spec[key] = int(m.group(1)), int(m.group(2)), -1
            continue
        try:
            spec[key] = float(value)
        except ValueError:
            known = False
        if not (sep and known):
            raise InfermeterError(
                f"--lengths: cannot read {part!r}: use prompt_tokens=N,output_tokens=N with N fixed (256), a range "
                "(128-512), or a mean with _stdev, _min, _max (prompt_tokens=256,prompt_tokens_stdev=64)"
            )
        if spec[key] < 0:  # -1 would also be taken for the range marker above
            raise InfermeterError(f"--lengths: {part!r}: lengths and spreads cannot be negative")
    return spec


def draw_lengths(spec: dict[str, float], key: str, n: int, rng: np.random.Generator) -> list[int]:
    """``n`` lengths (>= 1) for ``key``: fixed, uniform over [min, max], or normal clipped to [min, max]."""
    mean, lo, hi = spec[key], spec.get(key + "_min", 1), spec.get(key + "_max")
    if mean == -1:  # a range: _lengths_spec set both of its bounds
        got = rng.integers(int(lo), int(spec[key + "_max"]) + 1, size=n)
    elif spec.get(key + "_stdev"):
        got = np.rint(rng.normal(mean, spec[key + "_stdev"], size=n))
    else:
        got = np.full(n, mean)
    return np.clip(got, max(1, lo), hi if hi is not None else None).astype(int).tolist()


def random_items(cfg: Any, count: int, output_len: int) -> list[WorkItem]:
    """``count`` items of drawn (prompt, output) lengths, seeded by ``cfg.sample_seed``."""
    spec = _lengths_spec(cfg.lengths, cfg.prompt_len, output_len)
    for key in ("prompt_tokens", "output_tokens"):
        lo, hi = spec.get(key + "_min", 1), spec.get(key + "_max")
        if spec[key] == 0:
            raise InfermeterError(f"--lengths: {key} must be at least 1 token")
        if hi is not None and hi < lo:
            raise InfermeterError(f"--lengths: {key} has an empty range ({lo:g}-{hi:g})")
    rng = np.random.default_rng([cfg.sample_seed, 13])
    ins = draw_lengths(spec, "prompt_tokens", count, rng)
    outs = draw_lengths(spec, "output_tokens", count, rng)
    return [
        WorkItem(id=f"random-{i}", prompt="", scorer="none", output_len=o, meta=(("input_len", n),))
        for i, (n, o) in enumerate(zip(ins, outs, strict=False))
    ]


@register_workload("random")
def load_random(cfg) -> ItemList:  # noqa: ANN001 - WorkloadConfig
    """``cfg.limit`` items; ``load`` draws more when it plans more requests (see ``prompts_for``)."""
    return ItemList(random_items(cfg, cfg.limit, 128))


def _lines(cfg: Any) -> list[str]:
    if cfg.path:
        path = existing_file(cfg.path, "sonnet text file")
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    else:
        with gsm8k_path().open(encoding="utf-8") as f:
            lines = [json.loads(ln)["question"].replace("\n", " ") for ln in f if ln.strip()]
    if not lines:
        raise InfermeterError("the sonnet workload's text file has no lines")
    return lines


@register_workload("sonnet")
def load_sonnet(cfg) -> ItemList:  # noqa: ANN001 - WorkloadConfig
    """``cfg.limit`` prompts of ~``prompt_len`` tokens, the first ~``prefix_len`` of them shared."""
    if cfg.prefix_len >= cfg.prompt_len:
        raise InfermeterError(f"sonnet: prefix_len ({cfg.prefix_len}) must be below prompt_len ({cfg.prompt_len})")
    lines = _lines(cfg)
    head = "Pick as many lines as you can from these lines and repeat them word for word:\n"

    def fill(start: str, tokens: int, pick: Any) -> str:
        out = start
        while len(out) < tokens * CHARS_PER_TOKEN:
            out += pick() + "\n"
        return out

    prefix = fill(head, cfg.prefix_len, itertools.cycle(lines).__next__)  # the same lines in every prompt
    rng = np.random.default_rng([cfg.sample_seed, 17])
    items = []
    for i in range(cfg.limit):
        prompt = fill(prefix, cfg.prompt_len, lambda: lines[int(rng.integers(len(lines)))])
        items.append(WorkItem(id=f"sonnet-{i}", prompt=prompt, scorer="none"))
    return ItemList(items)


def _trace_row(path: Path, n: int, line: str, last: float) -> WorkItem:
    where = f"{path}:{n}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise InfermeterError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
    ts = row.get("timestamp") if isinstance(row, dict) else None
    if not isinstance(ts, (int, float)) or isinstance(ts, bool) or ts < 0:
        raise InfermeterError(f'{where}: a trace line needs "timestamp" (milliseconds >= 0)')
    if ts / 1000 < last:
        raise InfermeterError(f"{where}: timestamp {ts} goes backwards (the line before is at {last * 1000:g} ms)")
    text, n_in, n_out = row.get("prompt"), row.get("input_length"), row.get("output_length")
    if not isinstance(text, str) and not (isinstance(n_in, int) and n_in >= 1):
        raise InfermeterError(f'{where}: a trace line needs "input_length" (tokens >= 1) or a "prompt" text')
    if n_out is not None and not (isinstance(n_out, int) and n_out >= 1):
        raise InfermeterError(f'{where}: "output_length" must be an integer >= 1, got {n_out!r}')
    meta: tuple[tuple[str, Any], ...] = (("at_s", ts / 1000),)
    if not isinstance(text, str):
        meta += (("input_len", n_in), ("hash_ids", tuple(row.get("hash_ids") or ())))
    return WorkItem(id=f"trace-{n}", prompt=text if isinstance(text, str) else "", scorer="none", output_len=n_out,
                    meta=meta)  # fmt: skip


@register_workload("trace")
def load_trace(cfg) -> ItemList:  # noqa: ANN001 - WorkloadConfig
    """Every line of the trace (``--max-requests`` takes the first N), in time order."""
    if not cfg.path:
        raise InfermeterError("workload trace needs a file: --dataset TRACE.jsonl")
    path = existing_file(cfg.path, "trace file")
    items, last = [], 0.0
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if line.strip():
            items.append(_trace_row(path, n, line, last))
            last = dict(items[-1].meta)["at_s"]
    return ItemList(items)
