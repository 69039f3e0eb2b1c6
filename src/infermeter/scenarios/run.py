"""The ``run`` scenario: one configuration measured in phases, inside one worker process.

Phases (each a list of shape groups; each group is warmed up, then repeated, under its own memory
window):

* ``first-call``: the first generate() of the fresh model and two repeats of the same input, so
  first-call/compile cost is reported apart and never averaged into steady state;
* ``dataset``: the workload's items in batches (accuracy and per-request latency);
* ``context``: batch 1 at each of ``measure.prompt_lens`` (context-load curve);
* ``batch``: each of ``measure.batch_sizes`` with forced output length (batch-efficiency curve).

Every generate() call's records are appended to ``records.jsonl`` as soon as they exist, so a crash
loses nothing already measured. Warm-up calls are recorded too, under ``warmup:<phase>``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from infermeter.backends.base import Backend, Generation, Prompt, fingerprint, get_backend
from infermeter.config import GenerationParams, RunConfig
from infermeter.core import stats
from infermeter.core.clock import clock_for
from infermeter.core.environment import capture
from infermeter.core.memory import MemoryWindow
from infermeter.core.records import RequestRecord
from infermeter.errors import InfermeterError
from infermeter.metrics.accuracy import score
from infermeter.metrics.latency import e2e
from infermeter.metrics.throughput import output_throughput
from infermeter.report import recording
from infermeter.report.progress import phase_progress
from infermeter.scenarios.run_cache import CachedGenerate, with_repeats
from infermeter.workloads.base import WorkItem, load_items

RECORDS_FILE = "records.jsonl"


class RecordSink:
    """Appends records to a JSONL file, flushed per batch."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f = path.open("a", encoding="utf-8")

    def write(self, records: list[RequestRecord]) -> None:
        """Persist a batch of records now (file first, then the results database)."""
        from infermeter.core.redact import known, redact

        secrets = known()
        rows = [r.to_dict() for r in records]
        lines = [json.dumps(row) for row in rows]
        if secrets:  # the last gate before disk (the client already redacted what it received)
            masked = [redact(line, secrets) for line in lines]
            rows = [json.loads(m) if m != line else row for m, line, row in zip(masked, lines, rows, strict=True)]
            lines = masked
        self._f.write("".join(line + "\n" for line in lines))
        self._f.flush()
        recording.records(self.path.parent, rows)

    def close(self) -> None:
        """Close the file."""
        self._f.close()


def read_records(path: Path) -> list[RequestRecord]:
    """Load every whole record of a run (missing file: none).

    A line cut short (the process was killed while writing it) or otherwise unreadable is skipped:
    the report is rebuilt from the lines that are whole.
    """
    if not path.is_file():
        return []
    out = []
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                try:
                    out.append(RequestRecord.from_dict(json.loads(line)))
                except (ValueError, TypeError, KeyError, AttributeError):
                    continue
    return out


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
                prompt_tokens=len(p.ids),
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
                    "input": fingerprint(p),
                    **{k: v for k, v in g.extra.items() if k != "tokens_per_chunk"},
                    **(extras[i] if extras else {}),
                },
            )
            if item is not None:
                r.score = score(item.scorer, g.text, item.reference)
            records.append(r)
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
        with MemoryWindow(self.device, m.rss_interval_s) as mem:
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
        self.groups.append({"phase": phase, "shape": shape, "repeats": rep, "memory": mem.peak.to_dict()})

    def warm(self, phase: str, make: Callable[[int], list[Prompt]], params: GenerationParams, force: bool) -> None:
        """Explicit warm-up: the measured input itself, or another input of the same shape."""
        from infermeter.optimize.warmup import warmup  # the optimize package imports torch: workers only

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
        recs = [self.call("warmup:first-call", prompts, params, True, repeat=k)[0] for k in range(3)]
        e2es = [e2e(r) for r in recs]
        failed = [r.error or "no token came back" for r, t in zip(recs, e2es, strict=True) if t is None]
        if failed:  # a server answering errors: nothing after this could be measured either
            raise InfermeterError(f"the first calls failed ({failed[0]}): nothing can be measured")
        steady = float(np.median(e2es[1:]))
        return {
            "first_call_s": e2es[0],
            "steady_call_s": steady,
            "overhead_s": e2es[0] - steady,
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
            from infermeter.models.vision import with_other_pixels

            # Text-only prompts never reach a VLM's vision tower: warm it up on the first batch
            # with other pixel values of the same shapes instead.
            def warm_make(rep: int) -> list[Prompt]:
                return [with_other_pixels(p, rep) for p in prompt_sets[0]]

        warm_params = params
        if cfg.model.cache != "static":
            # Shapes, not lengths, are what warm-up must cover; a static cache (and its compiled
            # graphs) is sized by max_new_tokens, so only then is the full length needed.
            warm_params = self.probe_params(min(params.max_new_tokens, cfg.measure.probe_output_len))
        self.warm("dataset", lambda rep: prompt_sets[0] if rep == 0 else warm_make(rep), warm_params, force)
        with MemoryWindow(self.device, cfg.measure.rss_interval_s) as mem:
            for b, prompts in zip(batches, prompt_sets, strict=True):
                if cached is not None:
                    cached.call("dataset", prompts, params, force, items=None if synthetic else b)
                else:
                    self.call("dataset", prompts, params, force, repeat=0, items=None if synthetic else b)
                self.progress.advance(task, len(b))
        if cached is not None:
            self.response_cache = cached.cache.stats().to_dict()
        self.groups.append(
            {
                "phase": "dataset",
                "shape": {"batch_size": bs, "items": len(items)},
                "repeats": 1,
                "memory": mem.peak.to_dict(),
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


def measure(payload: dict[str, Any]) -> dict[str, Any]:
    """Worker entry point: load, run every phase, return what is not in the records file."""
    cfg = RunConfig.model_validate(payload["config"])
    run_dir = Path(payload["run_dir"])
    items = load_items(cfg.workload)
    backend_cls = get_backend(cfg.backend)
    sink = RecordSink(run_dir / RECORDS_FILE)
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
        "load": load.__dict__,
        "first_call": first,
        "groups": runner.groups,
        "response_cache": runner.response_cache,
    }
