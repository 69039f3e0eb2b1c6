"""The vLLM backend's pure parts (config mapping, refusals); the engine itself runs in
tests/integration/test_servers.py inside .venv-vllm."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from infermeter.backends.base import get_backend
from infermeter.backends.vllm import INSTALL_HINT, VLLMBackend, _engine_kwargs
from infermeter.config import build_config
from infermeter.core.clock import FakeClock
from infermeter.errors import InfermeterError


def test_registered():
    assert get_backend("vllm") is VLLMBackend


def test_engine_kwargs_defaults_and_knobs():
    cfg = build_config({}, {"backend": "vllm"})
    kw = _engine_kwargs(cfg, Path("/m"))
    assert kw == {
        "model": "/m",
        "dtype": "bfloat16",
        "seed": 0,
        "max_model_len": 2048,
        "kv_cache_memory_bytes": 2 * 2**30,
    }  # None knobs are left to vLLM's defaults
    cfg = build_config(
        {},
        {
            "enable_prefix_caching": False,
            "max_num_seqs": 8,
            "enable_chunked_prefill": True,
            "engine.max_model_len": 1024,
            "kv_cache_space_gb": 0.5,
            "dtype": "float16",
            "seed": 3,
        },
    )
    kw = _engine_kwargs(cfg, Path("/m"))
    assert kw["enable_prefix_caching"] is False and kw["max_num_seqs"] == 8 and kw["enable_chunked_prefill"] is True
    assert kw["max_model_len"] == 1024 and kw["kv_cache_memory_bytes"] == 2**29
    assert kw["dtype"] == "float16" and kw["seed"] == 3


def test_engine_keys_validate():
    with pytest.raises(InfermeterError, match="max_num_seqs"):
        build_config({}, {"max_num_seqs": 0})


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_missing_vllm_is_one_clear_line():
    backend = VLLMBackend(build_config({}, {"backend": "vllm"}), FakeClock())
    with pytest.raises(InfermeterError) as err:
        backend.load()
    assert str(err.value) == INSTALL_HINT and "make vllm-env" in INSTALL_HINT


def test_beam_search_refused_before_loading(monkeypatch):
    import sys
    import types

    monkeypatch.setitem(sys.modules, "vllm", types.ModuleType("vllm"))  # importable, never used
    backend = VLLMBackend(build_config({}, {"backend": "vllm", "num_beams": 2}), FakeClock())
    with pytest.raises(InfermeterError, match="num_beams > 1"):
        backend.load()
