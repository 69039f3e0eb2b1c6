"""A vision-language model end to end: the tiny random Qwen2.5-VL on easy-VQA items, through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from infermeter.metrics.accuracy import vqa

from .conftest import run_json

pytestmark = pytest.mark.integration

VLM = (
    "--model",
    "tiny-qwen2.5-vl",
    "--workload",
    "easy-vqa",
    "--limit",
    "3",
    "--batch-size",
    "2",
    "--max-new-tokens",
    "4",
    "--prompt-lens",
    "16",
    "--batch-sizes",
    "1",
    "--repeats",
    "1",
    "--set",
    "measure.max_repeats=1",
    "--set",
    "probe_prompt_len=16",
    "--set",
    "probe_output_len=4",
)


def test_tiny_vlm_on_easy_vqa(tmp_path: Path) -> None:
    report = run_json(*VLM, tmp=tmp_path)
    assert report["status"] == "complete"
    assert report["load"]["architecture"] == "Qwen2_5_VLForConditionalGeneration"
    m = report["metrics"]
    images = m["image_inputs"]
    # easy-VQA's 64x64 PNGs resize to 56x56: 16 patches of 14 px, merged 2x2 -> 4 image tokens each
    assert images["requests_with_images"] == images["images"] == 3
    assert images["image_tokens"] == 12 and images["image_tokens_per_prompt"]["mean"] == 4
    assert images["preprocess_s"]["n"] == 3 and images["preprocess_s"]["min"] > 0
    dataset = [r for r in report["records"] if r["phase"] == "dataset" and r["repeat"] == 0]  # first pass
    assert len(dataset) == 3
    for r in dataset:
        assert r["extra"]["image_tokens"] == 4 and r["extra"]["image_preprocess_s"] > 0
        assert r["prompt_tokens"] > r["extra"]["image_tokens"]  # image tokens are part of the prompt
        assert r["score"] == vqa(r["text"], r["reference"])  # the VQA scorer judged each answer
    assert m["accuracy"]["n"] == 3
    # the speed probes (synthetic text prompts) still run on the VLM
    assert m["context_load"]["points"][0]["prompt_tokens"] == 16
    assert m["batch_efficiency"]["points"][0]["batch_size"] == 1
    # warm-up ran the vision tower too (the first batch with other pixels), not only text prompts
    warm = [r for r in report["records"] if r["phase"] == "warmup:dataset"]
    assert any(r["extra"].get("image_tokens") for r in warm)
    # the image numbers reach the CSV export and the results database too
    from infermeter.render.export import to_csv, to_markdown
    from infermeter.results.store import ResultStore

    assert "image_preprocess_s" in to_csv(report) and "image_tokens_per_prompt" in to_csv(report)
    assert "image tokens per prompt" in to_markdown(report)  # the HTML page shows the same tables
    store = ResultStore(tmp_path / "results.db")
    names = set(store.measurements(Path(report["run_dir"]).name))
    assert {"image.preprocess_s", "image.tokens_per_prompt"} <= names
