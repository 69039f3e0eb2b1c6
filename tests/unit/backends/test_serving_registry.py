"""``load`` finds its client through the backend registry: serving backends only, one line otherwise."""

from __future__ import annotations

import pytest

from infermeter.backends.base import ServingBackend, get_serving_backend, serving_backend_for
from infermeter.backends.openai import OpenAIBackend, OpenAIClient
from infermeter.config import build_config
from infermeter.errors import InfermeterError


def test_the_openai_backend_serves_load() -> None:
    assert get_serving_backend("openai") is OpenAIBackend
    assert issubclass(OpenAIBackend, ServingBackend)


def test_an_in_process_backend_is_refused_with_the_serving_ones_named() -> None:
    with pytest.raises(InfermeterError, match=r"'hf' measures a model in this process.*serving backends: openai"):
        get_serving_backend("hf")
    with pytest.raises(InfermeterError, match="unknown backend 'nope'"):
        get_serving_backend("nope")


def test_load_drives_the_openai_client_when_the_config_names_an_in_process_backend() -> None:
    # A config's backend defaults to hf (in-process); load always drives a server.
    assert serving_backend_for("hf") is OpenAIBackend
    assert serving_backend_for("openai") is OpenAIBackend


def test_its_client_has_what_load_drives() -> None:
    cfg = build_config({"backend": "openai", "server": {"base_url": "http://127.0.0.1:9"}})
    backend = OpenAIBackend(cfg, None)  # type: ignore[arg-type]  # the clock is replaced by perf_counter
    backend.served, backend.tok = "m", None
    client = backend.make_client()
    assert isinstance(client, OpenAIClient)
    for name in ("open", "close", "models", "request", "now"):
        assert callable(getattr(client, name))
