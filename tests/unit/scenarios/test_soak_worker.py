"""The soak worker in this process on the tiny real model: inputs, strategies, rows, the calibration leak."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from infermeter.config import build_config
from infermeter.core.progress import Silent
from infermeter.core.records import RECORDS_FILE, RecordSink, read_records
from infermeter.scenarios.run import Runner
from infermeter.scenarios.soak import SoakOptions
from infermeter.scenarios.soak_analysis import read_rows
from infermeter.scenarios.soak_worker import CALLS_FILE, Instance, kv_bytes, make_inputs, soak_one

PROMPT, NEW, BATCH = 24, 3, 2


def _cfg(**workload):
    return build_config(
        {
            "model": {"name": "tiny-qwen3", "device": "cpu"},
            "workload": {"kind": "synthetic", "batch_size": BATCH, "prompt_len": PROMPT, **workload},
            "generation": {"max_new_tokens": NEW},
        }
    )


def _payload(tmp: Path, strategy: str, **opts) -> dict:
    options = asdict(SoakOptions(**{"calls": 3, "recreate_every": 1, **opts}))
    return {
        "config": _cfg().model_dump(),
        "run_dir": str(tmp),
        "name": strategy,
        "strategy": strategy,
        "options": options,
    }


def test_leaky_instance_keeps_each_outputs_kv_cache_of_the_computed_size(tmp_path: Path) -> None:
    cfg = _cfg()
    inst = Instance(cfg, "cpu", leak=True)
    runner = Runner(cfg, inst.backend, RecordSink(tmp_path / RECORDS_FILE), Silent())
    prompts, _ = make_inputs(runner, "varied")(1)
    gens = inst.backend.generate(prompts, cfg.generation, True)
    assert [len(g.token_times) for g in gens] == [NEW, NEW]  # the backend still gets its sequences
    assert len(inst.retained) == 1
    c = inst.backend.model.config
    # K and V, per layer: batch x kv_heads x (prompt + new - 1) x head_dim, fp32 (the last token is never fed back).
    expected = 2 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim * (PROMPT + NEW - 1) * BATCH * 4
    assert kv_bytes(inst.retained[0]) == expected


def test_fixed_and_varied_inputs(tmp_path: Path) -> None:
    cfg = _cfg()
    inst = Instance(cfg, "cpu", leak=False)
    runner = Runner(cfg, inst.backend, RecordSink(tmp_path / RECORDS_FILE), Silent())
    fixed, varied = make_inputs(runner, "fixed"), make_inputs(runner, "varied")
    assert [p.ids for p in fixed(1)[0]] == [p.ids for p in fixed(2)[0]]
    one, two = varied(1)[0], varied(2)[0]
    assert [p.ids for p in one] != [p.ids for p in two]
    assert {len(p.ids) for p in one + two} == {PROMPT} and len(one) == BATCH  # same shape
    gsm = build_config({"model": {"name": "tiny-qwen3"}, "workload": {"kind": "gsm8k", "batch_size": 3, "limit": 4}})
    items = make_inputs(Runner(gsm, inst.backend, runner.sink, Silent()), "varied")
    assert [it.id for it in items(1)[1]] != [it.id for it in items(2)[1]]
    assert len(items(2)[1]) == 3  # wraps around the 4 items, always a full batch


@pytest.mark.parametrize("strategy", ["recreate", "session", "full"])
def test_worker_writes_one_row_per_call_with_memory_and_cleanup(tmp_path: Path, strategy: str) -> None:
    meta = soak_one(_payload(tmp_path, strategy))
    rows = read_rows(tmp_path / CALLS_FILE)
    assert [r["call"] for r in rows] == [1, 2, 3] and {r["config"] for r in rows} == {strategy}
    for r in rows:
        assert r["e2e_s"] > 0 and r["ttft_s"] > 0 and r["tpot_s"] > 0 and r["memory"]["rss"] > 0
        assert r["peak"]["rss"] > 0 and r["memory"]["torch_allocated"] is None  # CPU
        last_recreate = strategy == "recreate" and r["call"] == 3
        assert "cleanup" not in r if last_recreate else r["cleanup"]["clean"], r.get("cleanup")
    records = read_records(tmp_path / RECORDS_FILE)
    assert len(records) == 3 * BATCH and {r.extra["call"] for r in records} == {1, 2, 3}
    assert all(r.extra["strategy"] == strategy and r.output_tokens == NEW for r in records)
    if strategy == "recreate":  # after calls 1 and 2, not after the last one
        assert [bool(r.get("recreated")) for r in rows] == [True, True, False]
        assert [r["instance"] for r in rows] == [1, 2, 3] and len(meta["loads_s"]) == 3
        assert rows[0]["cleanup"]["level"] == "gc+empty_cache"
        assert rows[0]["cleanup"]["left"]["live_param_bytes"] == 0  # the old model is really gone
    if strategy == "session":
        assert rows[0]["cleanup"]["level"] == "full"
    json.dumps(meta)
