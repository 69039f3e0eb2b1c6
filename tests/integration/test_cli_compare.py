"""`infermeter compare` end to end on the tiny real model: isolation, inline diagnosis, warm-up table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli

pytestmark = pytest.mark.integration

BASE = ("--model", "tiny-qwen3", "--prompt-len", "32", "--max-new-tokens", "16", "--calls", "3", "--json", "--quiet")


def _compare(tmp: Path, *args: str, timeout: float = 300) -> dict:
    proc = run_cli("compare", *BASE, "--output", str(tmp / "results"), *args, tmp=tmp, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_isolated_rounds_give_ratios_with_ci(tmp_path: Path) -> None:
    rep = _compare(
        tmp_path,
        "--variant",
        "dynamic:cache=dynamic",
        "--variant",
        "nocache:cache=off",
        "--rounds",
        "2",
        "--max-rounds",
        "2",
    )
    c = rep["compare"]
    assert rep["kind"] == "compare" and rep["status"] == "complete"
    assert c["rounds"] == 2 and sorted(c["orders"][0]) == ["dynamic", "nocache"]
    assert c["orders"][1] == list(reversed(c["orders"][0]))  # ABBA
    for name in ("dynamic", "nocache"):
        s = c["variants"][name]["summary"]
        assert s["decode_tps"]["n"] == 2 * 2  # 2 rounds x (3 calls - the first, reported apart)
        assert s["first_call_s"]["n"] == 2 and s["load_s"]["n"] == 2
        assert len(c["variants"][name]["rounds"]) == 2
    metrics = {r["metric"] for r in c["ratios"]}
    assert metrics == {"decode_tps", "e2e_s"}
    for r in c["ratios"]:
        assert r["ci95_low"] <= r["speedup"] <= r["ci95_high"] and r["verdict"]
    assert rep["configs"]["nocache"]["model"]["kv_cache"] == "off"
    # Raw records of every worker were appended to one file, tagged with variant and round.
    lines = (Path(rep["run_dir"]) / "records.jsonl").read_text().splitlines()
    tags = {(json.loads(x)["extra"].get("variant"), json.loads(x)["extra"].get("round")) for x in lines}
    assert {("dynamic", 0), ("nocache", 1)} <= tags


def test_inline_diagnosis_reports_a_broken_cleanup_as_leftover(tmp_path: Path) -> None:
    rep = _compare(
        tmp_path,
        "--variant",
        "a:cache=dynamic",
        "--variant",
        "b:cache=static",
        "--isolation",
        "inline",
        "--cleanup",
        "gc",
        "--retain-previous",
    )
    seqs = rep["compare"]["inline"]["sequences"]
    assert [r["variant"] for r in seqs["forward"]] == ["a", "b"]
    assert [r["variant"] for r in seqs["reverse"]] == ["b", "a"]
    first = seqs["forward"][0]
    assert not first["cleanup_clean"]
    left = first["cleanup"]["left"]
    params = [v for k, v in left.items() if "param" in k]
    assert params and max(params) > 30e6  # the retained tiny-qwen3 (~39 MB of fp32 parameters)
    assert rep["compare"]["inline"]["order_effects"]


def test_inline_diagnosis_with_a_real_cleanup_is_clean(tmp_path: Path) -> None:
    rep = _compare(
        tmp_path,
        "--variant",
        "a:cache=dynamic",
        "--variant",
        "b:cache=static",
        "--isolation",
        "inline",
        "--cleanup",
        "gc",
    )
    for results in rep["compare"]["inline"]["sequences"].values():
        assert all(r["cleanup_clean"] for r in results), [r["cleanup_summary"] for r in results]
    effects = rep["compare"]["inline"]["order_effects"]
    assert {e["metric"] for e in effects} == {"decode_tps", "e2e_s"}
    assert all("order" in e["verdict"] for e in effects)


def test_warmup_strategies_table(tmp_path: Path) -> None:
    cfg_a, cfg_b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    cfg_a.write_text("model:\n  cache: dynamic\n")
    cfg_b.write_text("model:\n  cache: off\n")
    # 4 strategies x 2 variants x 2 rounds of fresh workers: minutes on a busy 2-core machine, so shorter
    # outputs and a limit that only a hang reaches (the process group is killed then).
    rep = _compare(tmp_path, str(cfg_a), str(cfg_b), "--rounds", "2", "--max-rounds", "2", "--warmup-compare",
                   "--max-new-tokens", "8", timeout=1500)  # fmt: skip
    rows = rep["compare"]["warmup_table"]
    assert {(r["warmup"], r["variant"]) for r in rows} == {
        (w, v) for w in ("none", "same-input", "different-input", "shadow-instance") for v in ("a", "b")
    }
    shadow = [r for r in rows if r["warmup"] == "shadow-instance"]
    assert all(r["shadow_s"] > 0 for r in shadow)
    assert all(r["speedup_steady"] > 0 and r["first_measured_e2e_s"] > 0 for r in rows)
    base = [r for r in rows if r["variant"] == "a"]
    assert all(r["speedup_first_measured"] == pytest.approx(1.0) for r in base)


def test_compare_bad_input(tmp_path: Path) -> None:
    proc = run_cli("compare", "--model", "tiny-qwen3", "--variant", "only:cache=static", tmp=tmp_path)
    assert proc.returncode != 0 and "at least two variants" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("compare", "--variant", "a:cache=static", "--variant", "b:cache=bogus", tmp=tmp_path)
    assert proc.returncode != 0 and "model.kv_cache" in proc.stderr and "Traceback" not in proc.stderr
