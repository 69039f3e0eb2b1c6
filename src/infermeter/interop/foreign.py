"""A result file of another tool, read as an infermeter ``load`` report for side-by-side tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infermeter.interop import guidellm, vllm


def _objects(text: str) -> list[Any]:
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]  # vLLM --append-result


_POINT: dict[str, Any] = {
          "kind": "imported", "target_rate": None, "concurrency": None, "achieved_rate": None, "scheduled_rate": None,
          "window_s": None, "request_rate": None, "output_throughput": None, "goodput": None, "errors_by_reason": {},
          "ttft_s": None, "tpot_s": None, "itl_s": None, "e2e_s": None, "turns": None}  # fmt: skip


def _complete(point: dict[str, Any]) -> dict[str, Any]:
    """Every key infermeter's own load points have (what the other tool does not report is None)."""
    req = point.get("requests") or {}
    ok, sent = req.get("ok") or 0, req.get("sent") or req.get("ok") or 0
    req = {"measured": sent, "errors": sent - ok, "short_outputs": 0, "output_tokens": None, "input_tokens": None,
           **req, "ok": ok, "sent": sent}  # fmt: skip
    return {**_POINT, **point, "requests": req}


def foreign_report(path: Path, text: str) -> dict[str, Any] | None:
    """The file as a minimal load report (``imported_from`` says whose), or None when it is neither tool's."""
    try:
        objs = _objects(text)
    except json.JSONDecodeError:
        return None
    if objs and all(vllm.is_vllm_result(o) for o in objs):
        tool, points = "vllm bench serve", [vllm.as_point(o) for o in objs]
        model = objs[0].get("model_id")
    elif len(objs) == 1 and guidellm.is_guidellm(objs[0]):
        tool, points, model = "guidellm", guidellm.as_points(objs[0]), None
    else:
        return None
    return {
        "schema_version": 1,
        "kind": "load",
        "status": "complete",
        "imported_from": tool,
        "run_dir": str(path.parent),
        "config": {"backend": tool, "model": {"name": model}, "workload": {"kind": "(as run by that tool)"}},
        "load_run": {"points": [_complete(p) for p in points], "errors_total": 0, "errors_by_reason": {}},
        "warnings": [],
    }
