"""GPU paths: CUDA timing, CUDA memory, placement checks, static cache + compile (run on a GPU machine).

Run with ``python -m pytest -m gpu tests/gpu``; the default test command deselects them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def test_memory_window_sees_cuda_allocations() -> None:
    from infermeter.core.memory import MemoryWindow

    with MemoryWindow("cuda") as mem:
        x = torch.empty(100 * 2**20, dtype=torch.uint8, device="cuda")
        del x
    assert mem.peak.torch_allocated >= 100 * 2**20
    assert mem.peak.torch_reserved >= mem.peak.torch_allocated
    assert mem.peak.nvml_process is None or mem.peak.nvml_process > mem.peak.torch_allocated


def test_partly_offloaded_model_is_refused() -> None:
    from infermeter.backends.hf import check_placement, placement
    from infermeter.errors import InfermeterError
    from infermeter.models.presets import build_model, get_preset

    model = build_model(get_preset("tiny-qwen3"), dtype=torch.bfloat16, device="cuda", seed=0)
    check_placement(placement(model), "cuda", allow_offload=False)
    model.model.layers[1].to("cpu")  # what an incomplete cleanup or auto device_map leaves behind
    with pytest.raises(InfermeterError, match="not entirely on cuda:0"):
        check_placement(placement(model), "cuda", allow_offload=False)


@pytest.mark.parametrize("cache", ["dynamic", "static"])
def test_run_on_cuda(tmp_path: Path, cache: str) -> None:
    from tests.integration.conftest import TINY, run_json

    rep = run_json(
        *TINY,
        "--device",
        "cuda",
        "--cache",
        cache,
        "--workload",
        "synthetic",
        "--limit",
        "4",
        "--batch-size",
        "2",
        "--max-new-tokens",
        "16",
        "--prompt-len",
        "16",
        tmp=tmp_path,
    )
    assert rep["load"]["device"] == "cuda" and rep["load"]["dtype"] == "bfloat16"
    assert set(rep["load"]["placement"]) == {"cuda:0"}
    peak = rep["metrics"]["memory"]["peak"]
    assert peak["torch_allocated"] > rep["metrics"]["memory"]["weights_bytes"]
    assert rep["metrics"]["requests"]["short_outputs"] == 0
    assert rep["environment"]["cuda"]["available"] and rep["environment"]["cuda"]["devices"]
