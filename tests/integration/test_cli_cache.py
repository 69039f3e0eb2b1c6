"""`infermeter run --cache lru:N --repeat-ratio R` on the tiny model, and the --cache/--kv-cache split."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import run_cli, run_json

pytestmark = pytest.mark.integration


def test_run_with_a_response_cache_reports_hits_and_misses_apart(tmp_path: Path, tiny_args) -> None:
    rep = run_json(
        *tiny_args,
        "--workload", "synthetic", "--limit", "16", "--batch-size", "1", "--max-new-tokens", "8",
        "--prompt-len", "16", "--cache", "lru:64", "--repeat-ratio", "0.5",
        tmp=tmp_path,
    )  # fmt: skip
    main = [r for r in rep["records"] if r["phase"] == "dataset"]
    assert len(main) == 16 and {r["extra"]["cache"] for r in main} == {"hit", "miss"}
    c = rep["metrics"]["response_cache"]
    assert (c["hits"], c["misses"], c["uncacheable"]) == (8, 8, 0) and c["hit_rate"] == 0.5
    # A hit is a lookup: far faster than generating, and its tokens arrive as one chunk.
    assert c["hit_e2e_s"]["median"] * 20 < c["miss_e2e_s"]["median"]
    hits = [r for r in main if r["extra"]["cache"] == "hit"]
    assert all(r["output_tokens"] == 8 and r["tokens_per_chunk"] == [8] for r in hits)
    store = c["store"]
    assert store["entries"] == 8 and store["max_entries"] == 64 and store["bytes"] > 0
    inputs = rep["metrics"]["inputs"]
    assert inputs == {"requests": 16, "distinct": 8, "repeat_fraction": 0.5, "max_copies": inputs["max_copies"]}
    assert any(w.startswith("repeated inputs: 8 of 16") for w in rep["warnings"])
    # Decode TPS is the model's: hits do not enter it.
    assert rep["metrics"]["decode_tps"]["n"] == 8


def test_the_old_kv_cache_values_on_cache_point_to_kv_cache(tmp_path: Path) -> None:
    proc = run_cli("run", "--cache", "static", tmp=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "infermeter: error: --cache takes lru:SIZE or none: did you mean --kv-cache static?"
