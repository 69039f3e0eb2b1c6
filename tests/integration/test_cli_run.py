"""`infermeter run` end to end on real models (a tiny random Qwen3, and the embedded SmolLM2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli, run_json

pytestmark = pytest.mark.integration


def _phase(report: dict, phase: str) -> list[dict]:
    return [r for r in report["records"] if r["phase"] == phase]


def test_synthetic_speed_run_forces_and_verifies_output_length(tmp_path: Path, tiny_args) -> None:
    rep = run_json(
        *tiny_args,
        "--workload",
        "synthetic",
        "--limit",
        "4",
        "--batch-size",
        "2",
        "--max-new-tokens",
        "12",
        "--prompt-len",
        "24",
        tmp=tmp_path,
    )
    assert rep["schema_version"] == 2 and rep["status"] == "complete"
    main = [r for r in _phase(rep, "dataset") if r["repeat"] == 0]  # the first pass over the items
    assert len(main) == 4 and len(_phase(rep, "dataset")) == 4 * rep["metrics"]["requests"]["passes"]
    assert all(r["output_tokens"] == 12 == r["target_output_tokens"] for r in main)
    assert all(r["prompt_tokens"] == 24 for r in main)
    m = rep["metrics"]
    assert m["requests"]["short_outputs"] == 0
    # Per-token timestamps are ordered and after the send time.
    for r in main:
        assert r["t_send"] < r["token_times"][0]
        assert r["token_times"] == sorted(r["token_times"])
    passes = m["requests"]["passes"]  # the pass repeats for units: 2 batches of 2 per pass
    assert m["decode_tps"]["n"] == 2 * passes and m["decode_tps"]["mean"] > 0
    assert m["ttft_s"]["n"] == 4 * passes and m["tpot_s"]["n"] == 4 * passes
    assert m["ttft_s"]["units"] == 2 * passes  # the generate() call is the unit, not the request
    assert m["itl_s"]["n"] == 4 * 11 * passes
    assert [p["prompt_tokens"] for p in m["context_load"]["points"]] == [16, 32]
    assert [p["batch_size"] for p in m["batch_efficiency"]["points"]] == [1, 2]
    assert m["batch_efficiency"]["points"][0]["efficiency"] == pytest.approx(1.0)
    assert m["memory"]["peak"]["rss"] > m["memory"]["weights_bytes"]
    assert m["accuracy"] is None  # synthetic prompts have no answers
    # Warm-up is excluded from the metrics but kept in the raw records and timed apart.
    assert _phase(rep, "warmup:first-call") and _phase(rep, "warmup:dataset")
    assert rep["first_call"]["first_call_s"] > 0
    env = rep["environment"]
    assert env["packages"]["torch"] and env["packages"]["transformers"] and env["cpu_count"]
    assert rep["load"]["placement"] == {"cpu": rep["load"]["placement"]["cpu"]}
    assert rep["config"]["model"]["name"] == "tiny-qwen3"
    # The report on disk is the same document, beside the raw records file.
    run_dir = Path(rep["run_dir"])
    assert json.loads((run_dir / "report.json").read_text())["records"] == rep["records"]
    assert len((run_dir / "records.jsonl").read_text().splitlines()) == len(rep["records"])


@pytest.mark.parametrize(
    "extra",
    [
        ("--num-beams", "2"),
        ("--do-sample", "--temperature", "0.7", "--top-k", "20", "--top-p", "0.9"),
        ("--kv-cache", "static"),
        ("--kv-cache", "off", "--attn", "eager"),
    ],
    ids=["beam-search", "sampling", "static-cache", "no-cache-eager"],
)
def test_generation_knobs_keep_forced_lengths(tmp_path: Path, tiny_args, extra) -> None:
    rep = run_json(
        *tiny_args,
        "--workload",
        "synthetic",
        "--limit",
        "2",
        "--batch-size",
        "2",
        "--max-new-tokens",
        "8",
        "--prompt-len",
        "16",
        *extra,
        tmp=tmp_path,
    )
    measured = [r for r in rep["records"] if not r["phase"].startswith("warmup")]
    assert measured and all(r["output_tokens"] == r["target_output_tokens"] for r in measured)
    assert rep["metrics"]["requests"]["short_outputs"] == 0


def test_jsonl_dataset_scores_accuracy(tmp_path: Path, tiny_args) -> None:
    data = tmp_path / "qa.jsonl"
    data.write_text('{"prompt": "Say hi", "answer": "hi"}\n\n{"prompt": "Two?", "answer": ["2", "two"]}\n')
    rep = run_json(
        *tiny_args,
        "--dataset",
        str(data),
        "--max-new-tokens",
        "6",
        "--batch-size",
        "2",
        "--prompt-lens",
        "",
        "--batch-sizes",
        "",
        tmp=tmp_path,
    )
    main = [r for r in _phase(rep, "dataset") if r["repeat"] == 0]  # the first pass over the items
    assert [r["request_id"] for r in main] == ["line-1", "line-3"]
    assert all(r["score"] in (0.0, 1.0) and r["text"] is not None for r in main)
    assert rep["metrics"]["accuracy"]["n"] == 2
    assert rep["metrics"]["context_load"] is None and rep["metrics"]["batch_efficiency"] is None


def test_embedded_default_answers_gsm8k(tmp_path: Path) -> None:
    """The README's first command: SmolLM2-135M from its GGUF, 8 GSM8K questions, six metrics."""
    rep = run_json(tmp=tmp_path)
    assert rep["load"]["model"] == "smollm2-135m" and rep["load"]["architecture"] == "LlamaForCausalLM"
    m = rep["metrics"]
    assert m["requests"]["ok"] == 8 and m["accuracy"]["n"] == 8
    main = _phase(rep, "dataset")
    assert all(r["reference"] and r["text"].strip() for r in main)
    # A real model writes real words (it is tiny, so it is usually wrong about the maths).
    assert any("egg" in r["text"].lower() for r in main)
    for key in ("decode_tps", "ttft_s", "tpot_s", "itl_s", "e2e_s"):
        assert m[key]["mean"] > 0, key
    assert len(m["context_load"]["points"]) == 2 and len(m["batch_efficiency"]["points"]) == 4


def test_local_hf_folder_and_gguf_path(tmp_path: Path, tiny_args) -> None:
    """A user's own checkpoint: a HF folder (weights and random-weights modes) and a .gguf path."""
    import torch

    from infermeter.models.presets import build_model, get_preset
    from infermeter.models.resolve import embedded_gguf
    from infermeter.models.tokenizer import qwen_tokenizer

    folder = tmp_path / "my-model"
    build_model(get_preset("tiny-qwen3"), dtype=torch.float32, device="cpu", seed=3).save_pretrained(folder)
    qwen_tokenizer().save_pretrained(folder)
    common = (
        *tiny_args,
        "--workload",
        "synthetic",
        "--limit",
        "2",
        "--batch-size",
        "2",
        "--max-new-tokens",
        "4",
        "--prompt-lens",
        "",
        "--batch-sizes",
        "",
    )
    for extra in ((), ("--random-weights",)):
        rep = run_json(*common, "--model", str(folder), *extra, tmp=tmp_path)
        assert rep["load"]["architecture"] == "Qwen3ForCausalLM" and rep["metrics"]["requests"]["ok"] == 2
    rep = run_json(*common, "--model", str(embedded_gguf()), tmp=tmp_path)
    assert rep["load"]["architecture"] == "LlamaForCausalLM" and rep["metrics"]["requests"]["short_outputs"] == 0
    proc = run_cli("run", "--quiet", "--model", str(tmp_path), tmp=tmp_path)  # a folder without config.json
    assert proc.returncode != 0 and "no config.json" in proc.stderr
