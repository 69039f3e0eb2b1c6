"""A vision-language model from a local HF folder: the right model class and a processor around it."""

from __future__ import annotations

from pathlib import Path

import torch

from infermeter.models.presets import build_model, get_preset
from infermeter.models.resolve import load_model
from infermeter.models.tokenizer import qwen_tokenizer


def test_local_qwen2_5_vl_folder_loads_with_a_processor(tmp_path: Path) -> None:
    build_model(get_preset("tiny-qwen2.5-vl"), dtype=torch.float32, device="cpu", seed=0).save_pretrained(tmp_path)
    qwen_tokenizer().save_pretrained(tmp_path)
    loaded = load_model(str(tmp_path), dtype=torch.float32, device="cpu", attn=None, random_weights=False, seed=0)
    assert type(loaded.model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    proc = loaded.processor
    assert type(proc).__mro__[1].__name__ == "Qwen2_5_VLProcessor"
    assert proc.image_token_id == 151655
    # no preprocessor_config.json in the folder: the published defaults
    assert proc.image_processor.size["longest_edge"] == 12845056


def test_folder_image_processor_settings_are_used(tmp_path: Path) -> None:
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from infermeter.models.vision import folder_image_processor

    Qwen2VLImageProcessorPil(size={"shortest_edge": 3136, "longest_edge": 200704}).save_pretrained(tmp_path)
    assert folder_image_processor(str(tmp_path)).size["longest_edge"] == 200704
