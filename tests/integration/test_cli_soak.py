"""`infermeter soak` end to end: a real leak is found at its true rate, no leak is invented, the table prints.

The leak is the calibration workload (``--leak``): the model instance keeps every call's output with
its KV cache, so RSS must grow by exactly the KV size per call: 2 (K, V) x layers x kv_heads x head_dim
x (prompt + new - 1) x batch x 4 bytes (fp32). The model is built for that. tiny-qwen3 holds 512 B of
KV per token against ~3 KB of per-layer activations per token: its leaked KV lands in the heap holes
those activations leave, and over 12 calls the measured RSS slope ranged from -72% to +8% of the truth.
The calibration model below (Qwen3 architecture, 16 layers x 4 KV heads x 64 dims, hidden size 64)
keeps 32 KiB of KV per token against ~3 KiB of activations, so 64 MiB leak per call dwarf the
allocator's noise: measured slopes came out 3-8% above the truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli

pytestmark = pytest.mark.integration

LAYERS, KV_HEADS, HEAD_DIM = 16, 4, 64
PROMPT, NEW, BATCH = 512, 2, 4
SHAPE = f"--prompt-len {PROMPT} --batch-size {BATCH} --max-new-tokens {NEW} --calls 12".split()
KV_PER_CALL = 2 * LAYERS * KV_HEADS * HEAD_DIM * (PROMPT + NEW - 1) * BATCH * 4  # 64.1 MiB


@pytest.fixture(scope="module")
def calibration_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HF folder: tiny-qwen3 with deep, wide KV (see the module docstring) and the real Qwen tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from infermeter.models.presets import QWEN_EOS_IDS, QWEN_PAD_ID, get_preset
    from infermeter.models.tokenizer import qwen_tokenizer

    shape = {"num_hidden_layers": LAYERS, "max_window_layers": LAYERS, "num_attention_heads": KV_HEADS}
    shape.update(num_key_value_heads=KV_HEADS, head_dim=HEAD_DIM)
    config = AutoConfig.for_model("qwen3", **{**get_preset("tiny-qwen3").config, **shape})
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config.eos_token_id, model.generation_config.pad_token_id = QWEN_EOS_IDS, QWEN_PAD_ID
    folder = tmp_path_factory.mktemp("calibration") / "kv-heavy-qwen3"
    model.save_pretrained(folder)
    qwen_tokenizer().save_pretrained(folder)
    return folder


def _soak(tmp: Path, *args: str) -> dict:
    proc = run_cli("soak", "--json", "--quiet", "--output", str(tmp / "results"), *args, tmp=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _by_name(rep: dict) -> dict:
    return {c["name"]: c for c in rep["soak"]["configurations"]}


def test_a_real_leak_is_flagged_at_its_true_rate_and_recreate_fixes_it(tmp_path: Path, calibration_model) -> None:
    model = str(calibration_model)
    rep = _soak(tmp_path, "--model", model, *SHAPE, "--leak", "--strategies", "none,recreate", "--recreate-every", "4")
    assert rep["kind"] == "soak" and rep["status"] == "complete"
    assert any("calibration" in w for w in rep["warnings"])
    c = _by_name(rep)
    leaky = c["none"]
    assert leaky["retained_kv_bytes_per_call"] == KV_PER_CALL  # the formula is what the cache holds
    rss = leaky["series"]["rss"]
    assert rss["verdict"] == "increasing" and rss["decay"] and not leaky["stable"], rss["line"]
    assert rss["trend"]["slope"] == pytest.approx(KV_PER_CALL, rel=0.2), rss["line"]
    assert rss["trend"]["n"] == 10  # 12 calls, the first 2 warm-up
    # A fresh instance every 4 calls drops what the old one kept: bounded, not a leak.
    fixed = c["recreate"]
    assert fixed["recreations"] == 2 and len(fixed["worker"]["loads_s"]) == 3
    assert not fixed["series"]["rss"]["decay"], fixed["series"]["rss"]["line"]
    assert "none" in rep["soak"]["verdict"]["unstable"]


def test_the_same_workload_without_the_leak_is_stable(tmp_path: Path, calibration_model) -> None:
    # The leak above is ~9% of RSS a call. Without it, glibc's heap still drifted +0.18% a call once (1.3
    # MiB, 10 calls, a CPU hog beside the suite): real, and above the default 0.1% floor. A 1% floor still
    # catches a leak a ninth of the calibrated one; what must not appear is a leak of that order.
    rep = _soak(tmp_path, "--model", str(calibration_model), *SHAPE, "--strategies", "none", "--min-slope", "0.01")
    rss = _by_name(rep)["none"]["series"]["rss"]
    assert rss["verdict"] == "stable" and not rss["decay"], rss["line"]
    assert _by_name(rep)["none"]["retained_kv_bytes_per_call"] is None


def test_duration_chunking_and_the_table(tmp_path: Path) -> None:
    args = "--model tiny-qwen3 --prompt-len 16 --max-new-tokens 4 --duration 3s --strategies session"
    args += " --batch-sizes 1,2 --inputs fixed --at 1,3"
    proc = run_cli("soak", *args.split(), "--output", str(tmp_path / "results"), tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "soak: tiny-qwen3 on cpu, 3 s per configuration, fixed inputs" in out
    for text in ("session b1", "session b2", "call 1", "call 3", "peak RSS", "stable", "trends", "verdict:"):
        assert text in out, out
    assert "report:" in out
    (run_dir,) = (tmp_path / "results").iterdir()
    rep = json.loads((run_dir / "report.json").read_text())
    assert rep["kind"] == "soak" and rep["status"] == "complete" and set(rep["configs"]) == {"session b1", "session b2"}
    c = _by_name(rep)
    assert c["session b2"]["batch_size"] == 2 and rep["configs"]["session b2"]["workload"]["batch_size"] == 2
    for conf in c.values():
        assert conf["calls"] >= 3 and conf["rows"][-1]["t_s"] >= 3.0  # ran for the duration
        assert all(r["cleanup"]["level"] == "full" for r in conf["rows"])  # each call inside a session
    rows = [json.loads(x) for x in (run_dir / "calls.jsonl").read_text().splitlines()]
    assert len(rows) == sum(conf["calls"] for conf in c.values())
    records = [json.loads(x) for x in (run_dir / "records.jsonl").read_text().splitlines()]
    assert {(r["extra"]["soak"], r["batch_size"]) for r in records} == {("session b1", 1), ("session b2", 2)}
    fixed = {tuple(r["prompt_tokens"] for r in records if r["extra"]["soak"] == "session b1")}
    assert fixed == {tuple([16] * c["session b1"]["calls"])}


def test_soak_bad_input(tmp_path: Path) -> None:
    for args, message in (
        (("--strategies", "none,sometimes"), "unknown strategy 'sometimes'"),
        (("--calls", "2"), "calls must be >= 3"),
        (("--leak", "--kv-cache", "off"), "KV cache"),
    ):
        proc = run_cli("soak", "--model", "tiny-qwen3", *args, tmp=tmp_path)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
