"""Real architectures with seeded random weights.

Each preset's ``config`` holds the exact values of the model's published ``config.json`` on the
Hugging Face hub (rope settings in transformers 5's ``rope_parameters`` form); only the weights are
fake, drawn from a seed, so nothing is downloaded. That is honest for speed and memory: the work a
forward pass does depends on the shapes, not on the weight values, as long as the benchmark forces
the output length instead of stopping at whatever EOS random weights happen to produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infermeter.models.vision import is_vision

if TYPE_CHECKING:
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, PretrainedConfig, PreTrainedModel

# Qwen tokenizer ids: chat turns end at <|im_end|>, documents at <|endoftext|>.
QWEN_EOS_IDS = [151645, 151643]
QWEN_PAD_ID = 151643

_QWEN3_COMMON = {
    "vocab_size": 151936,
    "head_dim": 128,
    "hidden_act": "silu",
    "max_position_embeddings": 40960,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0},
    "rms_norm_eps": 1e-6,
    "attention_bias": False,
    "attention_dropout": 0.0,
    "use_sliding_window": False,
    "sliding_window": None,
    "initializer_range": 0.02,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "dtype": "bfloat16",
}


# Qwen2.5-VL's published config.json is flat; transformers 5 nests it into text_config and
# vision_config, the form used here. Renamed on the way: rope_scaling {"type": "mrope", ...} is
# rope_parameters with rope_type "default" (transformers' own conversion), the vision tower's
# in_chans is in_channels; spatial_patch_size (= patch_size) has no field and is left out.
_QWEN2_5_VL_TEXT = {
    "hidden_act": "silu",
    "initializer_range": 0.02,
    "max_position_embeddings": 128000,
    "rms_norm_eps": 1e-6,
    "rope_parameters": {"rope_type": "default", "mrope_section": [16, 24, 24], "rope_theta": 1000000.0},
    "sliding_window": 32768,
    "use_sliding_window": False,
    "attention_dropout": 0.0,
    "use_cache": True,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
}
_QWEN2_5_VL_VISION = {
    "depth": 32,
    "hidden_act": "silu",
    "hidden_size": 1280,
    "intermediate_size": 3420,
    "num_heads": 16,
    "in_channels": 3,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "window_size": 112,
    "fullatt_block_indexes": [7, 15, 23, 31],
    "tokens_per_second": 2,
    "temporal_patch_size": 2,
}
_QWEN2_5_VL_TOP = {
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "image_token_id": 151655,
    "video_token_id": 151656,
    "dtype": "bfloat16",
}


@dataclass(frozen=True)
class Preset:
    """A named architecture: the transformers config kwargs and the tokenizer to feed it."""

    name: str
    model_type: str  # "qwen3" | "llama" | "qwen2_5_vl"
    config: dict  # kwargs for the transformers config class (exact published values)
    tokenizer: str = "qwen"
    notes: str = ""

    @property
    def vision(self) -> bool:
        """True for a vision-language architecture (it takes images through a processor)."""
        return is_vision(self.model_type)

    @property
    def vocab_size(self) -> int:
        """Ids at or above this do not exist in the model; a shared tokenizer may produce them."""
        return self.config.get("text_config", self.config)["vocab_size"]

    def build_config(self) -> PretrainedConfig:
        """A fresh config each call (building a model writes its dtype into the config)."""
        from transformers import AutoConfig  # heavy engine, imported on use: the CLI starts without it

        return AutoConfig.for_model(self.model_type, **self.config)

    def model_class(self) -> type[AutoModelForCausalLM] | type[AutoModelForImageTextToText]:
        """The transformers auto class that builds this architecture with its generation head."""
        from transformers import AutoModelForCausalLM, AutoModelForImageTextToText  # heavy engine, on use

        return AutoModelForImageTextToText if self.vision else AutoModelForCausalLM

    def param_count(self) -> int:
        """Parameters of the built model (tied embeddings counted once), from config arithmetic."""
        full = self.build_config()
        c = full.get_text_config()
        head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
        q, kv = c.num_attention_heads * head_dim, c.num_key_value_heads * head_dim
        if self.vision:  # Qwen2 attention: biased q, k, v projections, unbiased output
            attention = c.hidden_size * (2 * q + 2 * kv) + q + 2 * kv
        else:
            bias = c.attention_bias
            attention = c.hidden_size * (2 * q + 2 * kv) + (q + 2 * kv + c.hidden_size) * bias
        mlp = 3 * c.hidden_size * c.intermediate_size
        if getattr(c, "mlp_bias", False):
            mlp += 2 * c.intermediate_size + c.hidden_size
        norms = 2 * c.hidden_size
        if self.model_type == "qwen3":  # Qwen3 also RMS-normalizes q and k per head
            norms += 2 * c.head_dim
        embeddings = c.vocab_size * c.hidden_size * (1 if full.tie_word_embeddings else 2)
        text = c.num_hidden_layers * (attention + mlp + norms) + embeddings + c.hidden_size
        return text + (_qwen2_5_vision_params(full.vision_config) if self.vision else 0)


def _qwen2_5_vision_params(v: PretrainedConfig) -> int:
    """Qwen2.5-VL's vision tower: patch embedding, ViT blocks, and the 2x2 patch merger."""
    h, i, merged = v.hidden_size, v.intermediate_size, v.hidden_size * v.spatial_merge_size**2
    patch = v.in_channels * v.temporal_patch_size * v.patch_size**2 * h  # Conv3d without bias
    attention = (3 * h * h + 3 * h) + (h * h + h)  # fused qkv and the output projection, all biased
    mlp = 3 * h * i + 2 * i + h  # gate, up, down, biased
    block = 2 * h + attention + mlp  # two RMSNorms
    merger = h + (merged * merged + merged) + (merged * v.out_hidden_size + v.out_hidden_size)
    return patch + v.depth * block + merger


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "qwen3-0.6b",
            "qwen3",
            {
                **_QWEN3_COMMON,
                "hidden_size": 1024,
                "intermediate_size": 3072,
                "num_hidden_layers": 28,
                "max_window_layers": 28,
                "num_attention_heads": 16,
                "num_key_value_heads": 8,
                "tie_word_embeddings": True,
            },
            notes="Qwen/Qwen3-0.6B",
        ),
        Preset(
            "qwen3-1.7b",
            "qwen3",
            {
                **_QWEN3_COMMON,
                "hidden_size": 2048,
                "intermediate_size": 6144,
                "num_hidden_layers": 28,
                "max_window_layers": 28,
                "num_attention_heads": 16,
                "num_key_value_heads": 8,
                "tie_word_embeddings": True,
            },
            notes="Qwen/Qwen3-1.7B",
        ),
        Preset(
            "qwen3-4b",
            "qwen3",
            {
                **_QWEN3_COMMON,
                "hidden_size": 2560,
                "intermediate_size": 9728,
                "num_hidden_layers": 36,
                "max_window_layers": 36,
                "num_attention_heads": 32,
                "num_key_value_heads": 8,
                "tie_word_embeddings": True,
            },
            notes="Qwen/Qwen3-4B (the original April 2025 release, not the 2507 update)",
        ),
        Preset(
            "qwen3-8b",
            "qwen3",
            {
                **_QWEN3_COMMON,
                "hidden_size": 4096,
                "intermediate_size": 12288,
                "num_hidden_layers": 36,
                "max_window_layers": 36,
                "num_attention_heads": 32,
                "num_key_value_heads": 8,
                "tie_word_embeddings": False,
            },
            notes="Qwen/Qwen3-8B",
        ),
        Preset(
            "llama-3.2-1b",
            "llama",
            {
                "vocab_size": 128256,
                "hidden_size": 2048,
                "intermediate_size": 8192,
                "num_hidden_layers": 16,
                "num_attention_heads": 32,
                "num_key_value_heads": 8,
                "head_dim": 64,
                "hidden_act": "silu",
                "max_position_embeddings": 131072,
                "rope_parameters": {
                    "rope_type": "llama3",
                    "rope_theta": 500000.0,
                    "factor": 32.0,
                    "low_freq_factor": 1.0,
                    "high_freq_factor": 4.0,
                    "original_max_position_embeddings": 8192,
                },
                "rms_norm_eps": 1e-5,
                "attention_bias": False,
                "attention_dropout": 0.0,
                "mlp_bias": False,
                "pretraining_tp": 1,
                "initializer_range": 0.02,
                "tie_word_embeddings": True,
                "bos_token_id": 128000,
                "eos_token_id": 128001,
                "dtype": "bfloat16",
            },
            notes=(
                "meta-llama/Llama-3.2-1B (base). Fed by the Qwen tokenizer, whose ids reach "
                "151668: the caller folds ids >= vocab_size (128256) into range. Generation keeps "
                "Llama's eos id (128001)."
            ),
        ),
        Preset(
            "qwen2.5-vl-3b",
            "qwen2_5_vl",
            {
                **_QWEN2_5_VL_TOP,
                "tie_word_embeddings": True,
                "text_config": {
                    **_QWEN2_5_VL_TEXT,
                    "vocab_size": 151936,
                    "hidden_size": 2048,
                    "intermediate_size": 11008,
                    "num_hidden_layers": 36,
                    "max_window_layers": 70,
                    "num_attention_heads": 16,
                    "num_key_value_heads": 2,
                    "tie_word_embeddings": True,
                },
                "vision_config": {**_QWEN2_5_VL_VISION, "out_hidden_size": 2048},
            },
            notes="Qwen/Qwen2.5-VL-3B-Instruct (3.75B parameters with the 0.67B vision tower)",
        ),
        Preset(
            "qwen2.5-vl-7b",
            "qwen2_5_vl",
            {
                **_QWEN2_5_VL_TOP,
                "tie_word_embeddings": False,
                "text_config": {
                    **_QWEN2_5_VL_TEXT,
                    "vocab_size": 152064,
                    "hidden_size": 3584,
                    "intermediate_size": 18944,
                    "num_hidden_layers": 28,
                    "max_window_layers": 28,
                    "num_attention_heads": 28,
                    "num_key_value_heads": 4,
                    "tie_word_embeddings": False,
                },
                "vision_config": {**_QWEN2_5_VL_VISION, "out_hidden_size": 3584},
            },
            notes="Qwen/Qwen2.5-VL-7B-Instruct (8.29B parameters with the 0.68B vision tower)",
        ),
        Preset(
            "tiny-qwen3",
            "qwen3",
            {
                **_QWEN3_COMMON,
                "hidden_size": 64,
                "intermediate_size": 128,
                "num_hidden_layers": 2,
                "max_window_layers": 2,
                "num_attention_heads": 4,
                "num_key_value_heads": 2,
                "head_dim": 16,
                "tie_word_embeddings": True,
            },
            notes="Not a published model: a 9.8M-parameter Qwen3 (mostly embeddings) for tests.",
        ),
        Preset(
            "tiny-qwen2.5-vl",
            "qwen2_5_vl",
            {
                **_QWEN2_5_VL_TOP,
                "tie_word_embeddings": True,
                "text_config": {
                    **_QWEN2_5_VL_TEXT,
                    "vocab_size": 151936,
                    "hidden_size": 64,
                    "intermediate_size": 128,
                    "num_hidden_layers": 2,
                    "max_window_layers": 2,
                    "num_attention_heads": 4,
                    "num_key_value_heads": 2,
                    # mrope splits the 8 rotary frequencies of a 16-wide head over (time, height, width)
                    "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 1000000.0},
                    "tie_word_embeddings": True,
                },
                "vision_config": {
                    **_QWEN2_5_VL_VISION,
                    "depth": 2,
                    "hidden_size": 32,
                    "intermediate_size": 64,
                    "num_heads": 2,
                    "fullatt_block_indexes": [1],
                    "out_hidden_size": 64,
                },
            },
            notes="Not a published model: a 9.9M-parameter Qwen2.5-VL (real processor and vision path) for tests.",
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a KeyError names the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown model preset {name!r}; known: {', '.join(PRESETS)}") from None


def build_model(preset: Preset, *, dtype: torch.dtype, device: str, seed: int) -> PreTrainedModel:
    """The preset's architecture with weights drawn from ``seed``, in eval mode.

    Weights are created on ``device`` in ``dtype`` directly, so an 8B model never exists in fp32 on
    the CPU. The same seed gives the same weights on the same device and software versions.
    """
    import torch  # heavy engine, imported on use: the CLI starts without it

    config = preset.build_config()
    torch.manual_seed(seed)
    with torch.device(device):
        model = preset.model_class().from_config(config, dtype=dtype)
    model.eval()
    generation = model.generation_config
    if preset.tokenizer == "qwen" and preset.vocab_size > max(QWEN_EOS_IDS):
        generation.eos_token_id = list(QWEN_EOS_IDS)
        generation.pad_token_id = QWEN_PAD_ID
    elif generation.pad_token_id is None:
        generation.pad_token_id = config.eos_token_id  # silences generate()'s per-call warning
    return model
