"""A model's context window, read from its config or GGUF header without loading it."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from infermeter.models.context import config_context, gguf_context, model_context
from infermeter.models.presets import PRESETS


def _gguf(path: Path, kvs: list[tuple[str, int, bytes]]) -> Path:
    """A GGUF v3 header with the given (key, type, packed value) pairs and no tensors."""
    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs))
    for key, kind, value in kvs:
        out += struct.pack("<Q", len(key)) + key.encode() + struct.pack("<I", kind) + value
    path.write_bytes(out)
    return path


def _string(text: str) -> bytes:
    return struct.pack("<Q", len(text)) + text.encode()


def test_config_context_reads_the_text_config_of_a_vision_model() -> None:
    assert config_context({"max_position_embeddings": 4096}) == 4096
    assert config_context({"text_config": {"max_position_embeddings": 128000}, "max_position_embeddings": 5}) == 128000
    assert config_context({"n_positions": 1024}) == 1024  # GPT-2's name for it
    assert config_context({"hidden_size": 64}) is None
    assert config_context({"max_position_embeddings": True}) is None


def test_presets_give_their_published_context() -> None:
    assert model_context("qwen3-1.7b") == 40960
    assert (
        model_context("tiny-qwen2.5-vl") == PRESETS["tiny-qwen2.5-vl"].config["text_config"]["max_position_embeddings"]
    )


def test_embedded_gguf_header_gives_its_context() -> None:
    assert model_context("smollm2-135m") == 8192  # SmolLM2's llama.context_length


def test_gguf_header_skips_arrays_and_strings_before_the_key(tmp_path: Path) -> None:
    tokens = struct.pack("<IQ", 8, 2) + _string("a") + _string("bc")  # an array of strings
    scores = struct.pack("<IQ", 6, 3) + struct.pack("<3f", 0.0, 1.0, 2.0)  # an array of floats
    path = _gguf(
        tmp_path / "m.gguf",
        [
            ("general.architecture", 8, _string("qwen3")),
            ("tokenizer.ggml.tokens", 9, tokens),
            ("tokenizer.ggml.scores", 9, scores),
            ("qwen3.context_length", 4, struct.pack("<I", 512)),
        ],
    )
    assert gguf_context(path) == 512
    assert model_context(str(path)) == 512


def test_unreadable_or_unknown_models_give_none(tmp_path: Path) -> None:
    assert gguf_context(_gguf(tmp_path / "no-ctx.gguf", [("general.architecture", 8, _string("llama"))])) is None
    (tmp_path / "bad.gguf").write_bytes(b"GGUF\x03\x00")  # truncated
    assert gguf_context(tmp_path / "bad.gguf") is None
    assert model_context(str(tmp_path / "absent.gguf")) is None
    assert model_context("no-such-model") is None
    folder = tmp_path / "folder"
    folder.mkdir()
    assert model_context(str(folder)) is None  # no config.json
    (folder / "config.json").write_text(json.dumps({"max_position_embeddings": 64}))
    assert model_context(str(folder)) == 64
