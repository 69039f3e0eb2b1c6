"""The deployment table from `infermeter run --json` reports of a vision-language model on a VQA set.

A deployment report (Qwen2.5-VL on OK-VQA, HF generate) gave per-sample time "image processing +
inference + generation", total tokens, time per token (= total time / total tokens), TPS
(= total tokens / total time) and peak GPU memory. The same quantities here, from the records of
the ``dataset`` phase:

* per-sample time: (image decode + preprocessing of every item + the wall time of every
  generate() call, first send to last token) / items;
* time per token and TPS: that total time over the output tokens; decode TPS (prefill excluded)
  and TTFT come from the report's own metrics;
* peak memory: torch's max allocated (and reserved) over the dataset phase; process RSS beside.

Usage: python benchmarks/summarize_vqa.py REPORT.json... (one per knob setting; the file stem
names the row).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

COLUMNS = (
    ("setting", 16),
    ("items", 5),
    ("s/sample", 8),
    ("preproc ms", 10),
    ("TTFT ms", 8),
    ("out tokens", 10),
    ("img tok", 7),
    ("ms/token", 8),
    ("TPS", 7),
    ("decode TPS", 10),
    ("peak alloc GB", 13),
    ("reserved GB", 11),
    ("RSS GB", 6),
    ("accuracy", 8),
)


def seed003_row(report: dict[str, Any]) -> dict[str, Any]:
    """The table's quantities for one report (None where it measured nothing)."""
    records = [r for r in report["records"] if r["phase"] == "dataset"]
    m = report["metrics"]
    prep = sum(r["extra"].get("image_load_s", 0.0) + r["extra"].get("image_preprocess_s", 0.0) for r in records)
    calls: dict[int, list[dict[str, Any]]] = {}
    for r in records:
        calls.setdefault(r["batch_id"], []).append(r)
    gen = sum(
        max(r["token_times"][-1] for r in rs if r["token_times"]) - min(r["t_send"] for r in rs)
        for rs in calls.values()
        if any(r["token_times"] for r in rs)
    )
    tokens = sum(len(r["token_times"]) for r in records)
    total = prep + gen
    images = m.get("image_inputs") or {}
    pre = images.get("preprocess_s")
    mem = (m["memory"].get("phases") or {}).get("dataset") or m["memory"].get("peak") or {}
    acc = m.get("accuracy")
    return {
        "items": len(records),
        "per_sample_s": total / len(records) if records else None,
        "preprocess_ms": 1e3 * pre["mean"] if pre else None,
        "ttft_ms": 1e3 * m["ttft_s"]["mean"] if m.get("ttft_s") else None,
        "output_tokens": tokens,
        "image_tokens_per_prompt": (images.get("image_tokens_per_prompt") or {}).get("mean"),
        "ms_per_token": 1e3 * total / tokens if tokens else None,
        "tps": tokens / total if total else None,
        "decode_tps": m["decode_tps"]["mean"] if m.get("decode_tps") else None,
        "peak_alloc_gb": mem.get("torch_allocated") and mem["torch_allocated"] / 1e9,
        "reserved_gb": mem.get("torch_reserved") and mem["torch_reserved"] / 1e9,
        "rss_gb": mem.get("rss") and mem["rss"] / 1e9,
        "accuracy": acc["mean"] if acc else None,
    }


def _fmt(v: Any, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def table(paths: list[Path]) -> str:
    """One line per report, aligned; a report that is missing or broken says so on its line."""
    lines = ["  ".join(name.rjust(w) for name, w in COLUMNS)]
    for path in paths:
        name = path.stem.removeprefix("vqa_")[:16].rjust(16)
        try:
            row = seed003_row(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as err:
            lines.append(f"{name}  no result ({err.__class__.__name__}: {str(err)[:80]})")
            continue
        cells = [
            _fmt(row["items"], "d"),
            _fmt(row["per_sample_s"], ".3f"),
            _fmt(row["preprocess_ms"], ".2f"),
            _fmt(row["ttft_ms"], ".1f"),
            _fmt(row["output_tokens"], "d"),
            _fmt(row["image_tokens_per_prompt"], ".0f"),
            _fmt(row["ms_per_token"], ".2f"),
            _fmt(row["tps"], ".1f"),
            _fmt(row["decode_tps"], ".1f"),
            _fmt(row["peak_alloc_gb"], ".2f"),
            _fmt(row["reserved_gb"], ".2f"),
            _fmt(row["rss_gb"], ".2f"),
            _fmt(row["accuracy"], ".1%"),
        ]
        lines.append("  ".join([name] + [c.rjust(w) for c, (_, w) in zip(cells, COLUMNS[1:], strict=True)]))
    return "\n".join(lines)


if __name__ == "__main__":
    print(table([Path(p) for p in sys.argv[1:]]))
