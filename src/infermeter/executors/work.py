"""What runs inside a task's worker process: the task, its scratch folder, its placement.

The envelope returned to the driver is plain data: status, value or error (with traceback), the
files the task wrote (scratch mode), and where it ran (host, GPU ids as the worker sees them).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infermeter.errors import InfermeterError


def collect(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by path relative to it."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def where(gpu_ids: list[str] | None = None) -> dict[str, Any]:
    """This worker's host, process and GPUs (``CUDA_VISIBLE_DEVICES`` when none are given)."""
    if gpu_ids is None:
        env = os.environ.get("CUDA_VISIBLE_DEVICES")
        gpu_ids = [g for g in env.split(",") if g] if env else []
    return {"node": socket.gethostname(), "pid": os.getpid(), "gpu_ids": gpu_ids}


def execute(
    fn: Callable[[dict[str, Any]], dict[str, Any]],
    payload: dict[str, Any],
    env: dict[str, str] | None = None,
    scratch: bool = False,
    gpu_ids: list[str] | None = None,
) -> dict[str, Any]:
    """Run ``fn(payload)`` here and return the envelope; never raises for the task's own errors.

    ``scratch``: ``payload["run_dir"]`` is replaced by a fresh local folder whose files come back in
    the envelope (even after a failure: the records measured so far), and the results database is off
    here: the driver records them.
    """
    os.environ.update(env or {})
    tmp = None
    if scratch:
        os.environ["INFERMETER_DB"] = "off"
        tmp = Path(tempfile.mkdtemp(prefix="infermeter-task-"))
        payload = {**payload, "run_dir": str(tmp)}
    out: dict[str, Any] = {"placement": where(gpu_ids), "files": {}}
    try:
        out.update(status="complete", value=fn(payload))
    except InfermeterError as err:
        out.update(status="user_error", error=str(err))
    except Exception as err:  # reported with its traceback, like a crash of the sequential worker
        out.update(status="failed", error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc())
    finally:
        if tmp is not None:
            out["files"] = collect(tmp)
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def entry(fn: Callable[[dict[str, Any]], dict[str, Any]], args: dict[str, Any], conn: Any) -> None:
    """``multiprocessing`` target: run :func:`execute` and send the envelope back through ``conn``."""
    try:
        conn.send(execute(fn, **args))
    finally:
        conn.close()


def probe(payload: dict[str, Any]) -> dict[str, Any]:
    """A task that measures nothing: where it ran and which GPUs it saw, after ``sleep_s`` seconds.

    It appends that line to ``probe.jsonl`` in its run folder, so a probe shows placement and the
    way files come back from workers (``payload["run_dir"]``), in seconds and without a model.
    """
    import json
    import time

    time.sleep(float(payload.get("sleep_s", 0)))
    seen = {**where(), "key": payload.get("key")}
    if payload.get("run_dir"):
        with (Path(payload["run_dir"]) / "probe.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(seen) + "\n")
    return seen
