"""Worker of the ``soak`` scenario: one configuration (strategy x batch size) in a fresh process.

The worker loads the model, then makes the same kind of call again and again through
:meth:`Runner.call` (so every request is a normal record in ``records.jsonl``). After each call it
applies the configuration's cleanup strategy, reads memory, and appends one row to ``calls.jsonl``
at once: the parent follows that file for its live view, and a crash loses no finished call.

Order per call: memory window open -> call -> window closed (per-call peak) -> strategy -> memory
reading. The reading after the strategy is the memory the next call starts from, which is what
grows when something leaks; the peak says what the call itself needed.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from infermeter.backends.base import Backend, Prompt, get_backend
from infermeter.config import RunConfig
from infermeter.core.clock import clock_for
from infermeter.core.device import resolve_device
from infermeter.core.memory import MemoryWindow, nvml_handle, nvml_process_bytes
from infermeter.core.progress import Silent
from infermeter.core.records import RECORDS_FILE, RecordSink, RequestRecord
from infermeter.errors import InfermeterError
from infermeter.metrics.latency import tpot, values
from infermeter.optimize import cleanup, inference_session, snapshot
from infermeter.scenarios.compare_workers import call_metrics
from infermeter.scenarios.run import Runner
from infermeter.workloads.base import WorkItem, load_items

CALLS_FILE = "calls.jsonl"

#: Cleanup levels applied after every call (see :mod:`infermeter.optimize.cleanup`).
LEVEL_STRATEGIES = ("none", "gc", "gc+empty_cache", "full")
STRATEGIES = (*LEVEL_STRATEGIES, "recreate", "session")

# What ``recreate`` does between dropping the old instance and loading the new one:
# "del + gc.collect() + empty_cache, then rebuild".
_RECREATE_LEVEL = "gc+empty_cache"
# What ``session`` releases with on exit: the strongest level, as a context manager would.
_SESSION_LEVEL = "full"


def _make_leaky(model: Any, retained: list[Any]) -> None:
    """Calibration leak: every ``generate()`` keeps its full output, KV cache included, in ``retained``.

    The wrapper asks for the dict output (which carries ``past_key_values``) and hands the backend the
    plain sequences it expects. A weak reference to the model avoids a cycle through the wrapper, so
    dropping the instance frees everything without waiting for the garbage collector.
    """
    model_ref = weakref.ref(model)
    generate = type(model).generate

    def leaky_generate(*args: Any, **kwargs: Any) -> Any:
        out = generate(model_ref(), *args, return_dict_in_generate=True, **kwargs)
        retained.append(out)
        return out.sequences

    model.generate = leaky_generate


def kv_bytes(output: Any) -> int:
    """Bytes of the key/value tensors in one ``generate()`` output (0 when it has no cache)."""
    cache = getattr(output, "past_key_values", None)
    total = 0
    for layer in getattr(cache, "layers", None) or []:
        for t in (getattr(layer, "keys", None), getattr(layer, "values", None)):
            if t is not None:
                total += int(t.nbytes)
    return total


class Instance:
    """One loaded model: what ``recreate`` replaces. In leak mode it also holds every call's output,
    the way a client object that keeps its history would, so only dropping it frees them."""

    def __init__(self, cfg: RunConfig, device: str, leak: bool) -> None:
        self.backend: Backend = get_backend(cfg.backend)(cfg, clock_for(device))
        self.load = self.backend.load().__dict__
        self.retained: list[Any] = []
        if leak:
            model = getattr(self.backend, "model", None)
            if model is None or not hasattr(model, "generate"):
                raise InfermeterError("leak=true (calibration) needs an in-process transformers model (backend hf)")
            _make_leaky(model, self.retained)


def memory_now(device: str, nvml: Any) -> dict[str, int | None]:
    """Current (not peak) memory: process RSS, torch allocated/reserved and NVML process bytes on CUDA."""
    out: dict[str, int | None] = {
        "rss": int(psutil.Process().memory_info().rss),
        "torch_allocated": None,
        "torch_reserved": None,
        "nvml_process": None,
    }
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)
        out["torch_allocated"] = int(torch.cuda.memory_allocated(device))
        out["torch_reserved"] = int(torch.cuda.memory_reserved(device))
        if nvml is not None:
            out["nvml_process"] = nvml_process_bytes(nvml)
    return out


def _nvml_for(device: str) -> Any:
    if not device.startswith("cuda"):
        return None
    import torch

    return nvml_handle(torch.device(device).index or 0)


def make_inputs(runner: Runner, mode: str) -> Any:
    """``call -> (prompts, items)``: the same input every call (fixed) or new content of the same shape.

    Synthetic workloads draw seeded prompts of exactly ``prompt_len`` tokens; datasets take the next
    ``batch_size`` items, wrapping around (fixed: always the first batch).
    """
    cfg = runner.cfg
    bs = cfg.workload.batch_size
    if cfg.workload.kind == "synthetic":
        make = runner.synthetic(bs, cfg.workload.prompt_len, 11)
        return lambda call: (make(0 if mode == "fixed" else call), None)
    items = load_items(cfg.workload)

    def dataset(call: int) -> tuple[list[Prompt], list[WorkItem]]:
        k = 0 if mode == "fixed" else call - 1
        batch = [items[(k * bs + i) % len(items)] for i in range(bs)]
        return [runner.backend.encode(it) for it in batch], batch

    return dataset


def _call_row(records: list[RequestRecord]) -> dict[str, Any]:
    m = call_metrics(records)
    tpots = values(tpot, records)
    return {
        "e2e_s": m["e2e_s"],
        "ttft_s": m["ttft_s"],
        "tpot_s": float(np.mean(tpots)) if tpots else None,
        "decode_tps": m["decode_tps"],
        "output_tokens": sum(r.output_tokens for r in records),
        "errors": sum(r.error is not None for r in records),
    }


class Soak:
    """The loop of one configuration; state that outlives a call lives here."""

    def __init__(self, payload: dict[str, Any]) -> None:
        # infermeter.optimize imports torch; imported here, only workers pay for it, not the CLI.

        self.cfg = RunConfig.model_validate(payload["config"])
        self.name, self.strategy = payload["name"], payload["strategy"]
        self.opts = payload["options"]
        self.run_dir = Path(payload["run_dir"])
        self.device = resolve_device(self.cfg.model.device)
        self.clock = clock_for(self.device)
        self.nvml = _nvml_for(self.device)
        # Cleanup reports compare against these: before any model (did recreate drop the old one?) and
        # right after loading (what did the calls leave behind?).
        self.empty = snapshot()
        self.instance = Instance(self.cfg, self.device, self.opts["leak"])
        self.loaded = snapshot()
        self.loads = [self.instance.load["load_s"]]
        self.sink = RecordSink(self.run_dir / RECORDS_FILE)
        self.rows = (self.run_dir / CALLS_FILE).open("a", encoding="utf-8")
        self.runner = Runner(self.cfg, self.instance.backend, self.sink, Silent())
        self.inputs = make_inputs(self.runner, self.opts["inputs"])

    def close(self) -> None:
        """Close the record files."""
        self.sink.close()
        self.rows.close()

    def _call(self, call: int) -> dict[str, Any]:
        """One measured call (inside a session for ``session``): its metrics and peak memory."""

        prompts, items = self.inputs(call)
        cfg, runner = self.cfg, self.runner
        runner.tags = {"soak": self.name, "strategy": self.strategy, "call": call, "instance": len(self.loads)}
        if self.strategy != "session":
            with MemoryWindow(self.device, cfg.measure.rss_interval_s) as win:
                row = _call_row(runner.call("soak", prompts, cfg.generation, runner.force_len(), call, items))
            return {**row, "peak": _peak(win)}
        with inference_session(_SESSION_LEVEL) as session:
            with MemoryWindow(self.device, cfg.measure.rss_interval_s) as win:
                records = session.track(runner.call("soak", prompts, cfg.generation, runner.force_len(), call, items))
            row = _call_row(records)
        return {**row, "peak": _peak(win), "cleanup": _cleanup_dict(session.report)}

    def _after(self, call: int, last: bool) -> dict[str, Any]:
        """Apply the strategy after a call; what it did goes into the row."""

        if self.strategy in LEVEL_STRATEGIES and self.strategy != "none":
            return {"cleanup": _cleanup_dict(cleanup(self.strategy, baseline=self.loaded))}
        if self.strategy == "recreate" and call % self.opts["recreate_every"] == 0 and not last:
            return self._recreate()
        return {}

    def _recreate(self) -> dict[str, Any]:

        # The old instance must have no name left, or neither it nor what it keeps can be freed.
        self.runner.backend = None  # type: ignore[assignment]  # None only until rebuilt below
        self.instance = None  # type: ignore[assignment]  # None only until rebuilt below
        report = cleanup(_RECREATE_LEVEL, baseline=self.empty)
        self.instance = Instance(self.cfg, self.device, self.opts["leak"])
        self.loaded = snapshot()
        self.runner.backend = self.instance.backend
        self.loads.append(self.instance.load["load_s"])
        return {"cleanup": _cleanup_dict(report), "recreated": True, "load_s": self.loads[-1]}

    def _done(self, call: int, start: float) -> bool:
        opts = self.opts
        if opts["duration_s"] is None:
            return call >= opts["calls"]
        return call >= opts["max_calls"] or (call >= 3 and self.clock.now() - start >= opts["duration_s"])

    def loop(self) -> None:
        """Call until ``calls`` are done or ``duration_s`` is spent (at least 3 calls either way)."""
        start = self.clock.now()
        call, done = 0, False
        while not done:
            call += 1
            row: dict[str, Any] = {"config": self.name, "call": call, "instance": len(self.loads)}
            row.update(self._call(call))
            retained = self.instance.retained
            if retained:
                row["retained_kv_bytes"] = kv_bytes(retained[-1])
            del retained  # a name left here would keep a replaced instance's outputs alive
            done = self._done(call, start)
            row.update(self._after(call, done))
            row["memory"] = memory_now(self.device, self.nvml)
            row["t_s"] = self.clock.now() - start
            self.rows.write(json.dumps(row) + "\n")
            self.rows.flush()


def _peak(window: MemoryWindow) -> dict[str, Any]:
    return window.peak.to_dict() if window.peak is not None else {}


def _cleanup_dict(report: Any) -> dict[str, Any]:
    """The parts of a CleanupReport worth one line per call (the full snapshots are too big)."""
    return {
        "level": report.level,
        "seconds": report.seconds,
        "freed": report.freed,
        "left": report.left,
        "clean": report.clean,
    }


def soak_one(payload: dict[str, Any]) -> dict[str, Any]:
    """Worker entry point: one configuration's soak loop; per-call rows are in ``calls.jsonl``."""
    import transformers

    transformers.logging.disable_progress_bar()
    soak = Soak(payload)
    try:
        soak.loop()
    finally:
        soak.close()
    return {
        "config": soak.name,
        "strategy": soak.strategy,
        "device": soak.device,
        "load": soak.instance.load,
        "loads_s": soak.loads,
    }
