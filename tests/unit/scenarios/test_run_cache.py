"""The in-process request key of `run --cache`: sampling is never cacheable, every knob is in the key."""

from __future__ import annotations

from types import SimpleNamespace

from infermeter.backends.base import Prompt
from infermeter.config import build_config
from infermeter.optimize import ResponseCache
from infermeter.scenarios.run_cache import CachedGenerate, with_repeats
from infermeter.workloads.base import WorkItem


def _cached(**overrides) -> CachedGenerate:
    cfg = build_config({}, {"response_cache": "lru:8", **overrides})
    return CachedGenerate(SimpleNamespace(cfg=cfg), cfg.measure.response_cache)


def test_sampling_requests_have_no_key_even_with_a_run_seed():
    c = _cached(do_sample=True, seed=5)
    req = c.request(Prompt(ids=[1, 2, 3]), c.runner.cfg.generation, False)
    assert ResponseCache.key(req) is None
    g = _cached()
    params = g.runner.cfg.generation
    key = ResponseCache.key(g.request(Prompt(ids=[1, 2, 3]), params, False))
    assert key is not None
    assert key == ResponseCache.key(g.request(Prompt(ids=[1, 2, 3]), params, False))
    for other in (
        g.request(Prompt(ids=[1, 2, 4]), params, False),
        g.request(Prompt(ids=[1, 2, 3]), params, True),
        g.request(Prompt(ids=[1, 2, 3]), params.model_copy(update={"max_new_tokens": 7}), False),
        _cached(seed=1).request(Prompt(ids=[1, 2, 3]), params, False),  # other random weights
    ):
        assert ResponseCache.key(other) != key


def test_with_repeats_reuses_items_and_prompts():
    cfg = build_config({}, {"repeat_ratio": 0.5, "limit": 10})
    items = [WorkItem(id=f"q{i}", prompt=f"question {i}") for i in range(10)]
    prompts = [Prompt(ids=[i]) for i in range(10)]
    its, ps = with_repeats(cfg, items, prompts)
    assert len(its) == len(ps) == 10 and len({tuple(p.ids) for p in ps}) == 5
    assert len({it.id for it in its}) == 10  # repeats get their own request ids
    assert all(it.prompt == f"question {p.ids[0]}" for it, p in zip(its, ps, strict=True))
    assert with_repeats(build_config({}), items, prompts) == (items, prompts)
