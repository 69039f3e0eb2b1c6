"""The main pass of ``run`` behind a response cache (``--cache lru:SIZE``), and streams with repeats.

Per request, in order: look the request up (timed: a hit's TTFT and E2E are the lookup, and its tokens
arrive as one chunk), then send every miss of the batch to the model together and store the
deterministic ones. Hits and misses are recorded with ``extra["cache"]`` so the report shows their
latencies apart (metrics/cache.py). A repeat whose original is in the same batch is a miss: both were
in flight at once. Non-deterministic requests (sampling without a per-request seed) are never looked
up (``uncacheable``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

from infermeter.backends.base import Generation, Prompt, fingerprint
from infermeter.optimize.response_cache import ResponseCache
from infermeter.workloads.repeat import repeat_stream

if TYPE_CHECKING:
    from infermeter.config import GenerationParams, RunConfig
    from infermeter.core.records import RequestRecord
    from infermeter.scenarios.run import Runner
    from infermeter.workloads.base import WorkItem


def with_repeats(cfg: RunConfig, items: list[WorkItem], prompts: list[Prompt]) -> tuple[list[WorkItem], list[Prompt]]:
    """The request stream of ``workload.repeat_ratio``: repeats reuse an earlier item and prompt."""
    ratio = cfg.workload.repeat_ratio
    if ratio is None:
        return items, prompts
    order = repeat_stream(len(items), ratio, cfg.seed)
    seen: set[int] = set()
    out_items, out_prompts = [], []
    for pos, j in enumerate(order):
        item = items[j] if j not in seen else dataclasses.replace(items[j], id=f"{items[j].id}~repeat{pos}")
        seen.add(j)
        out_items.append(item)
        out_prompts.append(prompts[j])
    return out_items, out_prompts


def _cache(spec: str) -> ResponseCache:
    """The response cache ``spec`` describes; only built for a spec that names one (not ``none``)."""
    cache = ResponseCache.from_spec(spec)
    if cache is None:
        raise ValueError(f"no response cache in {spec!r}")
    return cache


class CachedGenerate:
    """A Runner's generate() behind a :class:`ResponseCache`."""

    def __init__(self, runner: Runner, spec: str) -> None:

        self.runner = runner
        self.cache = _cache(spec)
        cfg = runner.cfg
        # Everything that decides the output besides the prompt: model identity and numerics, the run's
        # seed (random weights; not named "seed", which would mean a per-request sampling seed),
        # generation knobs, forced length.
        self._base = {"model": cfg.model.model_dump(), "weights_seed": cfg.seed}

    def request(self, prompt: Prompt, params: GenerationParams, force: bool) -> dict[str, Any]:
        """The normalized request a prompt stands for (no per-request seed: sampling is never cached)."""
        return {
            **self._base,
            **params.model_dump(),
            "force_len": force,
            "ids": prompt.ids,
            "images": [str(i) for i in prompt.images],
        }

    def call(
        self,
        phase: str,
        prompts: list[Prompt],
        params: GenerationParams,
        force: bool,
        items: list[WorkItem] | None = None,
    ) -> list[RequestRecord]:
        """Serve a batch: hits from the cache one by one, the misses in one generate() call."""
        runner, cache, clock = self.runner, self.cache, self.runner.backend.clock
        records: list[RequestRecord] = []
        misses: list[tuple[int, str | None, str]] = []
        for i, p in enumerate(prompts):
            key = cache.key(self.request(p, params, force))
            t_send = clock.synced_now()
            value = cache.get(key)
            if value is None:
                misses.append((i, key, "miss" if key else "uncacheable"))
                continue
            t_done = clock.now()
            cache.observe(True, t_done - t_send)
            text, ids, n = value
            gen = Generation(t_send, [t_done] * n, text, list(ids), extra={"tokens_per_chunk": [n] if n else None})
            # One batch id per hit: a hit is not part of the model's batch (decode TPS stays the model's).
            one = [items[i]] if items else None
            records += runner.record(phase, [p], [gen], params, force, items=one, extras=[{"cache": "hit"}])
        if misses:
            sent = [prompts[i] for i, _, _ in misses]
            gens = runner.backend.generate(sent, params, force)
            for (_, key, _), g in zip(misses, gens, strict=True):
                if key is not None and g.error is None:
                    cache.put(key, (g.text, tuple(g.output_ids), len(g.token_times)))
                    if g.token_times:
                        cache.observe(False, g.token_times[-1] - g.t_send)
            its = [items[i] for i, _, _ in misses] if items else None
            extras = [{"cache": status} for _, _, status in misses]
            records += runner.record(phase, sent, gens, params, force, items=its, extras=extras)
        return records


def cached_request(cfg: RunConfig, request: Any) -> Any:
    """``load``'s request path (``async request(prompt, params, force) -> Generation``) behind a cache.

    A hit's tokens arrive as one chunk at the end of the lookup; records get ``extra["cache"]`` and the
    input fingerprint (for the repeated-input warning) through the generation's ``extra``.
    """

    cache = _cache(cfg.measure.response_cache)
    base = {"endpoint": cfg.server.base_url, "api": cfg.server.api, "served_model": cfg.server.served_model}
    clock = time.perf_counter

    async def send(prompt: Prompt, params: GenerationParams, force: bool) -> Generation:
        req = {**base, **params.model_dump(), "force_len": force, "ids": prompt.ids, "messages": prompt.messages}
        key = cache.key(req)
        t_send = clock()
        value = cache.get(key)
        if value is not None:
            t_done = clock()
            cache.observe(True, t_done - t_send)
            text, ids, n = value
            extra = {"cache": "hit", "input": fingerprint(prompt), "tokens_per_chunk": [n] if n else None}
            return Generation(t_send, [t_done] * n, text, list(ids), extra=extra)
        g = await request(prompt, params, force)
        if key is not None and g.error is None:
            cache.put(key, (g.text, tuple(g.output_ids), len(g.token_times)))
            if g.token_times:
                cache.observe(False, g.token_times[-1] - g.t_send)
        g.extra.update(cache="miss" if key else "uncacheable", input=fingerprint(prompt))
        return g

    return send
