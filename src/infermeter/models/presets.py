"""Real architectures with seeded random weights.

Each preset's ``config`` holds the exact values of the model's published ``config.json`` on the
Hugging Face hub (rope settings in transformers 5's ``rope_parameters`` form); only the weights are
fake, drawn from a seed, so nothing is downloaded. That is honest for speed and memory: the work a
forward pass does depends on the shapes, not on the weight values, as long as the benchmark forces
the output length instead of stopping at whatever EOS random weights happen to produce.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import AutoConfig, AutoModelForCausalLM, PretrainedConfig

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


@dataclass(frozen=True)
class Preset:
    """A named architecture: the transformers config kwargs and the tokenizer to feed it."""

    name: str
    model_type: str  # "qwen3" | "llama"
    config: dict  # kwargs for the transformers config class (exact published values)
    tokenizer: str = "qwen"
    notes: str = ""

    @property
    def vocab_size(self) -> int:
        """Ids at or above this do not exist in the model; a shared tokenizer may produce them."""
        return self.config["vocab_size"]

    def build_config(self) -> PretrainedConfig:
        """A fresh config each call (building a model writes its dtype into the config)."""
        return AutoConfig.for_model(self.model_type, **self.config)

    def param_count(self) -> int:
        """Parameters of the built model (tied embeddings counted once), from config arithmetic."""
        c = self.build_config()
        q, kv = c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim
        bias = c.attention_bias
        attention = c.hidden_size * (2 * q + 2 * kv) + (q + 2 * kv + c.hidden_size) * bias
        mlp = 3 * c.hidden_size * c.intermediate_size
        if getattr(c, "mlp_bias", False):
            mlp += 2 * c.intermediate_size + c.hidden_size
        norms = 2 * c.hidden_size
        if self.model_type == "qwen3":  # Qwen3 also RMS-normalizes q and k per head
            norms += 2 * c.head_dim
        embeddings = c.vocab_size * c.hidden_size * (1 if c.tie_word_embeddings else 2)
        return c.num_hidden_layers * (attention + mlp + norms) + embeddings + c.hidden_size


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
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a KeyError names the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown model preset {name!r}; known: {', '.join(PRESETS)}") from None


def build_model(preset: Preset, *, dtype: torch.dtype, device: str, seed: int) -> torch.nn.Module:
    """The preset's architecture with weights drawn from ``seed``, in eval mode.

    Weights are created on ``device`` in ``dtype`` directly, so an 8B model never exists in fp32 on
    the CPU. The same seed gives the same weights on the same device and software versions.
    """
    config = preset.build_config()
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.eval()
    generation = model.generation_config
    if preset.tokenizer == "qwen" and preset.vocab_size > max(QWEN_EOS_IDS):
        generation.eos_token_id = list(QWEN_EOS_IDS)
        generation.pad_token_id = QWEN_PAD_ID
    elif generation.pad_token_id is None:
        generation.pad_token_id = config.eos_token_id  # silences generate()'s per-call warning
    return model
