"""The dataset pass of ``run``: repeated passes for units, records held during windows, scoring after.

A scripted backend on a :class:`FakeClock` plays the model (this tests the scenario's bookkeeping,
not a model's speed): each generate() call advances the clock by a fixed prefill and per-token step.
"""

from __future__ import annotations

import gc
import json

import numpy as np

from infermeter.backends.base import Backend, Generation, LoadInfo, Prompt
from infermeter.config import build_config
from infermeter.core.clock import FakeClock
from infermeter.core.collector import COLLECTIONS
from infermeter.core.progress import Silent
from infermeter.core.records import RecordSink
from infermeter.scenarios.run import Runner
from infermeter.workloads.base import WorkItem, load_items


class Scripted(Backend):
    """Every prompt answers "72" with ``tokens`` tokens; a call takes 0.5 s + 0.125 s per token."""

    name = "scripted"

    def __init__(self, cfg, clock, sink_path=None, tokens: int = 4) -> None:
        super().__init__(cfg, clock)
        self.tokens, self.sink_path, self.lines_seen = tokens, sink_path, []
        self.extra_prompt = 0  # > 0: answer like a server whose usage counts more prompt tokens

    def load(self) -> LoadInfo:
        return LoadInfo("m", "a", "cpu", "f32", 0.0, 1, 1, {}, "t")

    def encode(self, item: WorkItem) -> Prompt:
        return Prompt(ids=[len(item.prompt)], text=item.prompt)

    def synthetic_prompt(self, n_tokens: int, rng: np.random.Generator) -> Prompt:
        return Prompt(ids=[int(x) for x in rng.integers(0, 100, n_tokens)])

    def generate(self, prompts, params, force_len):
        if self.sink_path is not None:  # what was on disk while this call was being measured
            self.lines_seen.append(sum(1 for _ in self.sink_path.open()) if self.sink_path.exists() else 0)
        c = self.clock
        t_send = c.now()
        c.advance(0.5)
        times = []
        for _ in range(self.tokens):
            times.append(c.now())
            c.advance(0.125)
        usage = [
            {"usage": {"prompt_tokens": len(p.ids) + self.extra_prompt}} if self.extra_prompt else {} for p in prompts
        ]
        return [Generation(t_send, list(times), "The answer is 72", extra=u) for u in usage]


def _runner(tmp_path, **overrides) -> tuple[Runner, Scripted, RecordSink]:
    cfg = build_config({}, {"limit": 4, "batch_size": 4, "warmup": "none", **overrides})
    sink = RecordSink(tmp_path / "records.jsonl")
    backend = Scripted(cfg, FakeClock(), tmp_path / "records.jsonl")
    return Runner(cfg, backend, sink, Silent()), backend, sink


def _records(tmp_path) -> list[dict]:
    return [json.loads(x) for x in (tmp_path / "records.jsonl").read_text().splitlines()]


def test_one_batch_dataset_repeats_until_three_units(tmp_path):
    runner, backend, sink = _runner(tmp_path)
    runner.dataset(load_items(runner.cfg.workload))
    sink.close()
    recs = [r for r in _records(tmp_path) if r["phase"] == "dataset"]
    assert sorted({r["repeat"] for r in recs}) == [0, 1, 2]  # 3 passes of 1 batch: 3 units
    assert len({r["extra"]["unit"] for r in recs}) == 3
    assert len({r["extra"]["process"] for r in recs}) == 1
    assert runner.groups[-1]["repeats"] == 3


def test_records_are_written_and_scored_between_windows(tmp_path):
    runner, backend, sink = _runner(tmp_path)
    runner.dataset(load_items(runner.cfg.workload))
    sink.close()
    assert backend.lines_seen == [0, 4, 8]  # nothing written while a pass was being measured
    recs = _records(tmp_path)
    assert all(r["score"] is not None for r in recs)  # scored after the window, before writing


def test_the_budget_stops_repeating(tmp_path):
    runner, _, sink = _runner(tmp_path, **{"measure.dataset_budget_s": 0.1})
    runner.dataset(load_items(runner.cfg.workload))
    sink.close()
    assert {r["repeat"] for r in _records(tmp_path)} == {0}


def test_no_collection_inside_a_measured_window(tmp_path):
    runner, _, sink = _runner(tmp_path)
    before = list(COLLECTIONS)
    with runner.window():
        assert not gc.isenabled()
        junk = [[i] for i in range(50_000)]  # would trigger generation-0 collections
        del junk
    assert gc.isenabled()
    assert before == COLLECTIONS
    sink.close()


def test_http_backends_make_every_request_a_unit(tmp_path):
    runner, backend, sink = _runner(tmp_path, **{"measure.max_repeats": 1})
    runner.per_request = True
    runner.dataset(load_items(runner.cfg.workload))
    sink.close()
    recs = [r for r in _records(tmp_path) if r["phase"] == "dataset"]
    assert len({r["extra"]["unit"] for r in recs}) == 4


def test_the_servers_prompt_count_is_recorded_and_a_mismatch_warned(tmp_path):
    from infermeter.core.records import read_records
    from infermeter.metrics.compute import compute, warnings

    runner, backend, sink = _runner(tmp_path, **{"measure.max_repeats": 1})
    backend.extra_prompt = 7  # e.g. text re-tokenized by the server
    runner.dataset(load_items(runner.cfg.workload))
    sink.close()
    recs = read_records(tmp_path / "records.jsonl")
    assert all(r.prompt_tokens == r.extra["client_prompt_tokens"] + 7 for r in recs)
    m = compute(recs, [], 0)
    assert m["requests"]["prompt_token_mismatch"]["requests"] == 4
    assert any("the server counted other prompt lengths than the client for 4/4" in w for w in warnings(m))
