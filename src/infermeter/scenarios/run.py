"""The ``run`` scenario: one configuration measured in phases, inside one worker process.

Phases (each a list of shape groups; each group is warmed up, then repeated, under its own memory
window):

* ``first-call``: the first generate() of the fresh model and two repeats of the same input, so
  first-call/compile cost is reported apart and never averaged into steady state;
* ``dataset``: the workload's items in batches (accuracy and per-request latency);
* ``context``: batch 1 at each of ``measure.prompt_lens`` (context-load curve);
* ``batch``: each of ``measure.batch_sizes`` with forced output length (batch-efficiency curve).

Records are buffered while a phase is being measured and written to ``records.jsonl`` (and the
results database) between phases, with scoring, so no bookkeeping runs inside a timed window; the
garbage collector is off inside those windows too (core/collector.py). A crash loses only the phase
in progress. Warm-up calls are recorded too, under ``warmup:<phase>``.

Every record carries its unit of analysis in ``extra["unit"]`` (metrics/units.py): its generate()
call, or itself when the backend sends requests independently (HTTP). The dataset pass repeats
(new passes over the same items) until the headline means have ``measure.repeats`` units and meet
``measure.target_rel_ci``, or ``measure.dataset_budget_s`` is spent; dataset items are repeated only
in-process with HF (no prefix cache to hit), synthetic prompts everywhere (new content each pass).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from infermeter import stats
from infermeter.backends.base import Backend, Generation, Prompt, fingerprint, get_backend
from infermeter.config import GenerationParams, RunConfig
from infermeter.core import gpu_state
from infermeter.core.clock import clock_for
from infermeter.core.collector import collector_off
from infermeter.core.energy import EnergyWindow, counter_for
from infermeter.core.environment import capture
from infermeter.core.memory import MemoryWindow
from infermeter.core.progress import phase_progress
from infermeter.core.records import RECORDS_FILE, RecordSink, RequestRecord
from infermeter.errors import InfermeterError
from infermeter.metrics.accuracy import score
from infermeter.metrics.compute import compute
from infermeter.metrics.latency import e2e
from infermeter.metrics.throughput import output_throughput
from infermeter.models.vision import with_other_pixels
from infermeter.optimize.warmup import warmup
from infermeter.scenarios.run_cache import CachedGenerate, with_repeats
from infermeter.workloads.base import WorkItem, load_items


def server_prompt_tokens(g: Generation) -> int | None:
    """The prompt length the server counted (``usage.prompt_tokens``), when it said.

    Over HTTP a prompt sent as text is re-tokenized by the server and may not have the length the
    client asked for; the server's count is what it processed, so it is the record's
    ``prompt_tokens`` (the client's count stays in ``extra["client_prompt_tokens"]``).
    """
    n = (g.extra.get("usage") or {}).get("prompt_tokens")
    return n if isinstance(n, int) and n > 0 else None


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng([seed, *key])


class Runner:
    """Drives one backend through the phases and records everything."""

    def __init__(self, cfg: RunConfig, backend: Backend, sink: RecordSink, progress: Any) -> None:
        self.cfg, self.backend, self.sink, self.progress = cfg, backend, sink, progress
        self.batch_id = 0
        self.groups: list[dict[str, Any]] = []
        self.device = getattr(backend, "device", "cpu")
        self.tags: dict[str, Any] = {}  # copied into every record's ``extra`` (variant, round, ...)
        self.response_cache: dict[str, Any] | None = None  # the cache's own counters (--cache lru:SIZE)
        # None + why where no counter is readable; a server's energy is spent on its own machine
        self.energy, self.energy_reason = (
            counter_for(self.device)
            if cfg.backend != "openai"
            else (None, "not measured: a server spends it elsewhere")
        )
        self.process = uuid.uuid4().hex[:8]  # this worker process: the unit of once-per-process values
        self.per_request = bool(getattr(backend, "independent_requests", False))
        self._unscored: list[tuple[RequestRecord, WorkItem]] = []

    @contextmanager
    def window(self) -> Iterator[None]:
        """A measured window: records buffered and scored after it, no garbage collection inside."""
        with self.sink.hold():
            try:
                with collector_off():
                    yield
            finally:
                self.score_pending()

    def score_pending(self) -> None:
        """Score the records whose scoring was deferred until the window ended."""
        pending, self._unscored = self._unscored, []
        for r, item in pending:
            r.score = score(item.scorer, r.text or "", item.reference)  # records made here carry the text

    # -- one generate() call -------------------------------------------------------------
    def call(
        self,
        phase: str,
        prompts: list[Prompt],
        params: GenerationParams,
        force: bool,
        repeat: int = 0,
        items: list[WorkItem] | None = None,
    ) -> list[RequestRecord]:
        """Generate once for ``prompts`` and turn the result into persisted records."""
        gens = self.backend.generate(prompts, params, force)
        return self.record(phase, prompts, gens, params, force, repeat, items)

    def record(
        self,
        phase: str,
        prompts: list[Prompt],
        gens: list[Generation],
        params: GenerationParams,
        force: bool,
        repeat: int = 0,
        items: list[WorkItem] | None = None,
        extras: list[dict[str, Any]] | None = None,
    ) -> list[RequestRecord]:
        """Persist one batch's generations as records (one batch id; ``extras`` per request)."""
        bid, self.batch_id = self.batch_id, self.batch_id + 1
        records = []
        for i, (p, g) in enumerate(zip(prompts, gens, strict=True)):
            item = items[i] if items else None
            r = RequestRecord(
                request_id=item.id if item else f"{phase}-{bid}-{i}",
                phase=phase,
                batch_id=bid,
                batch_size=len(prompts),
                prompt_tokens=server_prompt_tokens(g) or len(p.ids),
                t_send=g.t_send,
                token_times=g.token_times,
                target_output_tokens=params.max_new_tokens if force else None,
                repeat=repeat,
                tokens_per_chunk=g.extra.get("tokens_per_chunk"),
                text=g.text if item else None,
                reference=item.reference if item else None,
                error=g.error,
                # the input's fingerprint lets a report see repeated inputs (metrics/cache.py); a
                # server's usage and the retokenized count come in the generation's extra
                extra={
                    **self.tags,
                    "process": self.process,
                    "unit": f"{self.process}/b{bid}" + (f"/r{i}" if self.per_request else ""),
                    "input": fingerprint(p),
                    "client_prompt_tokens": len(p.ids),
                    **{k: v for k, v in g.extra.items() if k != "tokens_per_chunk"},
                    **(extras[i] if extras else {}),
                },
            )
            if item is not None:
                self._unscored.append((r, item))
            records.append(r)
        if not self.sink.holding:  # not inside a measured window: score now
            self.score_pending()
        self.sink.write(records)
        return records

    # -- a shape group: warm-up, repeats, memory window -------------------------------------
    def group(
        self,
        phase: str,
        shape: dict[str, int],
        make: Callable[[int], list[Prompt]],
        params: GenerationParams,
        force: bool,
        metric: Callable[[list[RequestRecord]], float | None],
    ) -> None:
        """Warm up on ``make``'s inputs, then repeat until the CI is narrow or the budget is spent."""
        m = self.cfg.measure
        self.warm(phase, make, params, force)
        values: list[float] = []
        clock = self.backend.clock
        start = clock.now()
        first_batch = self.batch_id
        energy = EnergyWindow(self.energy, clock)
        with self.window(), MemoryWindow(self.device, m.rss_interval_s) as mem, energy:
            rep = 0
            while True:
                v = metric(self.call(phase, make(rep), params, force, repeat=rep))
                if v is not None:
                    values.append(v)
                rep += 1
                if rep >= m.max_repeats:
                    break
                if rep >= m.repeats and (
                    stats.enough_samples(values, target_rel_ci=m.target_rel_ci, min_n=m.repeats)
                    or clock.now() - start > m.budget_s
                ):
                    break
        self.groups.append(
            {
                "phase": phase,
                "shape": shape,
                "repeats": rep,
                "memory": mem.result().to_dict(),
                "energy": energy.to_dict(),
                "batch_ids": [first_batch, self.batch_id],  # the window's generate() calls: [first, end)
            }
        )

    def warm(self, phase: str, make: Callable[[int], list[Prompt]], params: GenerationParams, force: bool) -> None:
        """Explicit warm-up: the measured input itself, or another input of the same shape."""

        m = self.cfg.measure
        if m.warmup == "none":
            return
        runs = iter(range(m.warmup_runs))
        warmup(
            lambda prompts: self.call(f"warmup:{phase}", prompts, params, force, repeat=next(runs)),
            m.warmup,
            same=make(0) if m.warmup == "same-input" else None,
            different=lambda k: make(-1 - k),
            runs=m.warmup_runs,
        )

    # -- phases ------------------------------------------------------------------------------
    def probe_params(self, max_new_tokens: int) -> GenerationParams:
        """The configured generation knobs with a forced output length."""
        return self.cfg.generation.model_copy(update={"max_new_tokens": max_new_tokens})

    def force_len(self) -> bool:
        """Force max_new_tokens when asked, or by default for synthetic (speed) workloads."""
        forced = self.cfg.generation.force_output_len
        return forced if forced is not None else self.cfg.workload.kind == "synthetic"

    def synthetic(self, batch: int, length: int, key: int) -> Callable[[int], list[Prompt]]:
        """A factory of seeded synthetic batches; each repeat gets new content of the same shape."""
        seed = self.cfg.seed
        return lambda rep: [
            self.backend.synthetic_prompt(length, _rng(seed, key, batch, length, rep + 1000, i)) for i in range(batch)
        ]

    def first_call(self) -> dict[str, Any]:
        """Time the model's very first call, then the same input twice more (steady state)."""
        m = self.cfg.measure
        params = self.probe_params(m.probe_output_len)
        prompts = self.synthetic(1, m.probe_prompt_len, 1)(0)
        with self.window():
            recs = [self.call("warmup:first-call", prompts, params, True, repeat=k)[0] for k in range(3)]
        e2es = [e2e(r) for r in recs]
        failed = [r.error or "no token came back" for r, t in zip(recs, e2es, strict=True) if t is None]
        if failed:  # a server answering errors: nothing after this could be measured either
            raise InfermeterError(f"the first calls failed ({failed[0]}): nothing can be measured")
        times = [t for t in e2es if t is not None]  # all three: a call without one raised above
        steady = float(np.median(times[1:]))
        return {
            "first_call_s": times[0],
            "steady_call_s": steady,
            "overhead_s": times[0] - steady,
            "shape": {
                "batch_size": 1,
                "prompt_tokens": m.probe_prompt_len,
                "output_tokens": m.probe_output_len,
            },
        }

    def dataset(self, items: list[WorkItem]) -> None:
        """Each item once, in batches of ``workload.batch_size``; warm-up before the first batch."""
        cfg = self.cfg
        params = cfg.generation
        synthetic = cfg.workload.kind == "synthetic"
        force = self.force_len()
        bs = cfg.workload.batch_size
        if synthetic:
            make = self.synthetic(bs, cfg.workload.prompt_len, 2)
            flat = [p for k in range(-(-len(items) // bs)) for p in make(k)][: len(items)]
        else:
            flat = [self.backend.encode(it) for it in items]
        items, flat = with_repeats(cfg, items, flat)
        batches = [items[i : i + bs] for i in range(0, len(items), bs)]
        prompt_sets = [flat[i : i + bs] for i in range(0, len(flat), bs)]
        task = self.progress.add_task("dataset", total=len(items))
        cached = CachedGenerate(self, cfg.measure.response_cache) if cfg.measure.response_cache != "none" else None
        width = max(len(p.ids) for p in prompt_sets[0])
        warm_make = self.synthetic(len(batches[0]), width, 3)
        if any("vision_inputs" in p.extra for p in prompt_sets[0]):
            # Text-only prompts never reach a VLM's vision tower: warm it up on the first batch
            # with other pixel values of the same shapes instead.
            def warm_make(rep: int) -> list[Prompt]:
                return [with_other_pixels(p, rep) for p in prompt_sets[0]]

        warm_params = params
        if cfg.model.kv_cache != "static":
            # Shapes, not lengths, are what warm-up must cover; a static cache (and its compiled
            # graphs) is sized by max_new_tokens, so only then is the full length needed.
            warm_params = self.probe_params(min(params.max_new_tokens, cfg.measure.probe_output_len))
        self.warm("dataset", lambda rep: prompt_sets[0] if rep == 0 else warm_make(rep), warm_params, force)
        if synthetic:  # a repeated pass gets new content of the same shapes
            n_b = len(prompt_sets)
            prompts_of = lambda k, b: make(k * n_b + b) if k else prompt_sets[b]  # noqa: E731
        else:
            prompts_of = lambda k, b: prompt_sets[b]  # noqa: E731
        # Repeating the same items is only honest where nothing persists between calls: a server's or
        # vLLM's prefix cache would serve a repeated prompt from cache (synthetic passes get new
        # content), and a response cache would answer it outright.
        repeatable = cached is None and (synthetic or cfg.backend == "hf")
        passes, done = 0, []
        start = self.backend.clock.now()
        first_batch = self.batch_id
        energy = EnergyWindow(self.energy, self.backend.clock)
        with MemoryWindow(self.device, cfg.measure.rss_interval_s) as mem, energy:
            while True:
                with self.window():
                    for j, b in enumerate(batches):
                        prompts = prompts_of(passes, j)[: len(b)]
                        if cached is not None:
                            cached.call("dataset", prompts, params, force, items=None if synthetic else b)
                        else:
                            its = None if synthetic else b
                            done += self.call("dataset", prompts, params, force, repeat=passes, items=its)
                        self.progress.advance(task, len(b))
                passes += 1
                if not repeatable or not want_another_pass(done, passes, cfg, self.backend.clock.now() - start):
                    break
                self.progress.update(task, total=len(items) * (passes + 1))
        if cached is not None:
            self.response_cache = cached.cache.stats().to_dict()
        self.groups.append(
            {
                "phase": "dataset",
                "shape": {"batch_size": bs, "items": len(items)},
                "repeats": passes,
                "memory": mem.result().to_dict(),
                "energy": energy.to_dict(),
                "batch_ids": [first_batch, self.batch_id],
            }
        )

    def context(self) -> None:
        """TTFT at each prompt length, batch 1."""
        m = self.cfg.measure
        params = self.probe_params(min(8, m.probe_output_len))
        task = self.progress.add_task("context load", total=len(m.prompt_lens))
        for n in m.prompt_lens:
            self.group(
                "context",
                {"batch_size": 1, "prompt_tokens": n},
                self.synthetic(1, n, 4),
                params,
                True,
                lambda rs: rs[0].token_times[0] - rs[0].t_send if rs[0].ok else None,
            )
            self.progress.advance(task)

    def batching(self) -> None:
        """Output throughput at each batch size with forced output length."""
        m = self.cfg.measure
        params = self.probe_params(m.probe_output_len)
        task = self.progress.add_task("batch sizes", total=len(m.batch_sizes))
        for b in m.batch_sizes:
            self.group(
                "batch",
                {"batch_size": b, "prompt_tokens": m.probe_prompt_len},
                self.synthetic(b, m.probe_prompt_len, 5),
                params,
                True,
                output_throughput,
            )
            self.progress.advance(task)


def want_another_pass(records: list[RequestRecord], passes: int, cfg: RunConfig, elapsed: float) -> bool:
    """True when another dataset pass is wanted: too few units, or a CI wider than the target.

    Headline means: TTFT and E2E (units: generate() calls, or requests over HTTP), decode TPS
    (one value per batch) and output throughput (one value per pass). Stops at ``max_repeats``
    passes or when ``dataset_budget_s`` is spent, whatever the CIs say.
    """

    m = cfg.measure
    if passes >= m.max_repeats or elapsed > m.dataset_budget_s:
        return False
    met = compute(records, [], 0)
    for key in ("ttft_s", "e2e_s", "decode_tps", "output_throughput_passes"):
        d = met.get(key)
        if d is None:
            continue  # nothing to improve (e.g. every request failed)
        rel = d.get("rel_ci_halfwidth")
        if d.get("units", d["n"]) < m.repeats or rel is None or rel > m.target_rel_ci:
            return True
    return False


def measure(payload: dict[str, Any]) -> dict[str, Any]:
    """Worker entry point: load, run every phase, return what is not in the records file."""
    cfg = RunConfig.model_validate(payload["config"])
    run_dir = Path(payload["run_dir"])
    items = load_items(cfg.workload)
    backend_cls = get_backend(cfg.backend)
    sink = RecordSink(run_dir / RECORDS_FILE)
    gpu_start = gpu_state.snapshot()  # clocks, temperature, other processes: compared at the end
    import transformers

    transformers.logging.disable_progress_bar()  # our own progress bar covers loading
    try:
        with phase_progress(payload.get("progress", True)) as progress:
            task = progress.add_task(f"loading {cfg.model.name}", total=1)
            backend = backend_cls(cfg, clock_for(cfg.model.device))
            load = backend.load()
            progress.advance(task)
            runner = Runner(cfg, backend, sink, progress)
            first = runner.first_call() if cfg.measure.warmup != "none" else None
            runner.dataset(items)
            if cfg.measure.prompt_lens:
                runner.context()
            if cfg.measure.batch_sizes:
                runner.batching()
            backend.close()  # e.g. an HTTP backend's connections
    except BaseException:
        if "backend" in locals():  # a failed call: its connections are closed all the same
            with contextlib.suppress(Exception):
                backend.close()
        raise
    finally:
        sink.close()
    return {
        "environment": capture(),
        "gpu_state": {"start": gpu_start, "end": gpu_state.snapshot()},
        "load": load.__dict__,
        "first_call": first,
        "groups": runner.groups,
        "response_cache": runner.response_cache,
        "energy_unavailable": runner.energy_reason,
    }
