"""Worker functions of the ``compare`` scenario (each runs inside a fresh process; see compare.py)."""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from infermeter.backends.base import Backend, Prompt, get_backend
from infermeter.config import RunConfig
from infermeter.core.clock import clock_for
from infermeter.core.device import resolve_device
from infermeter.core.memory import MemoryWindow
from infermeter.core.progress import Silent
from infermeter.core.records import RECORDS_FILE, RecordSink, RequestRecord
from infermeter.errors import InfermeterError
from infermeter.metrics import registry
from infermeter.metrics.latency import e2e, ttft, values
from infermeter.metrics.throughput import decode_tps, output_throughput
from infermeter.optimize.cleanup import cleanup, snapshot
from infermeter.optimize.warmup import warmup
from infermeter.optimize.warmup import warmup as warm_up
from infermeter.scenarios.run import Runner
from infermeter.workloads.base import load_items

#: metric -> True when higher is better (directions from the metric registry)
METRICS = {k: registry.direction(k) == registry.HIGHER for k in ("decode_tps", "e2e_s", "ttft_s", "output_throughput")}


def _inputs(runner: Runner) -> tuple[list[Prompt], list[Prompt]]:
    """The fixed measured input, and another input of the same shape (for different-input warm-up)."""
    cfg = runner.cfg
    if cfg.workload.kind == "synthetic":
        make = runner.synthetic(cfg.workload.batch_size, cfg.workload.prompt_len, 7)
        return make(0), make(1)

    items = load_items(cfg.workload)[: cfg.workload.batch_size]
    prompts = [runner.backend.encode(it) for it in items]
    width = max(len(p.ids) for p in prompts)
    return prompts, runner.synthetic(len(prompts), width, 8)(0)


def call_metrics(records: list[RequestRecord]) -> dict[str, float | None]:
    """The per-call values the comparison works on."""
    e2es, ttfts = values(e2e, records), values(ttft, records)
    return {
        "e2e_s": max(e2es) if e2es else None,
        "ttft_s": statistics.fmean(ttfts) if ttfts else None,
        "decode_tps": decode_tps(records),
        "output_throughput": output_throughput(records),
    }


def check_call(records: list[RequestRecord], what: str) -> None:
    """Raise when every request of one measured call failed (a server gone): its numbers would measure nothing."""
    errors = [r.error for r in records]
    if errors and all(errors):
        raise InfermeterError(f"{what}: every request failed ({errors[0]})")


def _measure(
    runner: Runner, warmup: str, warmup_runs: int, calls: int, other: list[Prompt], prompts: list[Prompt]
) -> dict[str, Any]:
    """Warm up per strategy, then ``calls`` measured calls on the fixed input."""

    cfg, force = runner.cfg, runner.force_len()
    params = cfg.generation
    first_call = None
    if warmup in ("same-input", "different-input"):  # shadow-instance ran before this instance was built
        runs = iter(range(warmup_runs))
        done = warm_up(
            lambda x: runner.call("warmup:compare", x, params, force, next(runs)),
            warmup,
            same=prompts,
            different=other,
            runs=warmup_runs,
        )
        first_call = call_metrics(done.outputs[0])["e2e_s"] if done.outputs else None
    per_call = []
    with MemoryWindow(runner.device, cfg.measure.rss_interval_s) as mem:
        for k in range(calls):
            records = runner.call("compare", prompts, params, force, k)
            check_call(records, f"measured call {k + 1}")
            per_call.append(call_metrics(records))
    if first_call is None:
        first_call = per_call[0]["e2e_s"]
    steady = {
        m: statistics.median([v for c in per_call[1:] if (v := c[m]) is not None] or [float("nan")]) for m in METRICS
    }
    return {
        "first_call_s": first_call,
        "first_measured": per_call[0],
        "steady": steady,
        "calls": per_call,
        "memory": mem.result().to_dict(),
    }


def _load(cfg: RunConfig, device: str) -> tuple[Backend, dict[str, Any]]:
    backend = get_backend(cfg.backend)(cfg, clock_for(device))
    info = backend.load()
    return backend, info.__dict__


def _shadow(cfg: RunConfig, device: str, run_dir: Path) -> float:
    """The shadow-instance warm-up: build a throw-away instance, run it once on a similar input, drop it."""

    def build() -> Callable[[], Any]:
        backend, _ = _load(cfg, device)
        runner = Runner(cfg, backend, RecordSink(run_dir / RECORDS_FILE), Silent())
        runner.tags = {"shadow": True}
        _, other = _inputs(runner)

        def once() -> Any:
            try:
                return runner.call("warmup:shadow", other, cfg.generation, runner.force_len())
            finally:
                runner.sink.close()

        return once

    return warmup(None, "shadow-instance", build=build).seconds


def measure_variant(payload: dict[str, Any]) -> dict[str, Any]:
    """Worker: one variant, one round, in a fresh process."""
    cfg = RunConfig.model_validate(payload["config"])
    run_dir, opts = Path(payload["run_dir"]), payload["options"]
    device = resolve_device(cfg.model.device)
    shadow_s = _shadow(cfg, device, run_dir) if opts["warmup"] == "shadow-instance" else None
    backend, load = _load(cfg, device)
    sink = RecordSink(run_dir / RECORDS_FILE)
    try:
        runner = Runner(cfg, backend, sink, Silent())
        runner.tags = {"variant": payload["name"], "round": payload["round"], "warmup": opts["warmup"]}
        prompts, other = _inputs(runner)
        out = _measure(runner, opts["warmup"], opts["warmup_runs"], opts["calls"], other, prompts)
    finally:
        sink.close()
        backend.close()  # a failed call raises here: its connections close quietly, not at interpreter exit
    return {
        "variant": payload["name"],
        "round": payload["round"],
        "load_s": load["load_s"],
        "load": load,
        "shadow_s": shadow_s,
        **out,
    }


def inline_sequence(payload: dict[str, Any]) -> dict[str, Any]:
    """Worker: the variants one after the other in this one process, the way a user script does it."""

    run_dir, opts = Path(payload["run_dir"]), payload["options"]
    kept: list[Any] = []  # only used to reproduce a broken cleanup on purpose (retain_previous)
    baseline = snapshot()
    results = []
    for pos, (name, cfg_dict) in enumerate(payload["order"]):
        cfg = RunConfig.model_validate(cfg_dict)
        device = resolve_device(cfg.model.device)
        backend, load = _load(cfg, device)
        sink = RecordSink(run_dir / RECORDS_FILE)
        runner = Runner(cfg, backend, sink, Silent())
        runner.tags = {"variant": name, "position": pos, "sequence": payload["sequence"]}
        prompts, other = _inputs(runner)
        out = _measure(runner, opts["warmup"], opts["warmup_runs"], opts["calls"], other, prompts)
        sink.close()
        if opts["retain_previous"]:
            kept.append(backend)
        del runner, backend, prompts, other
        report = cleanup(opts["cleanup"], baseline=baseline)
        results.append(
            {
                "variant": name,
                "position": pos,
                "load_s": load["load_s"],
                **out,
                "cleanup": report.to_dict(),
                "cleanup_summary": report.summary(),
                "cleanup_clean": report.clean,
            }
        )
    kept.clear()
    gc.collect()
    return {"sequence": payload["sequence"], "results": results}


def balanced_orders(n_variants: int, rounds: int, seed: int) -> list[list[int]]:
    """Per-round orders: a random permutation, then its reverse (ABBA for two variants)."""
    rng = np.random.default_rng(seed)
    orders: list[list[int]] = []
    for r in range(rounds):
        orders.append(list(reversed(orders[-1])) if r % 2 else [int(i) for i in rng.permutation(n_variants)])
    return orders
