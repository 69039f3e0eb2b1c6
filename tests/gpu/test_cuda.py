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
        "--kv-cache",
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


def test_cuda_clock_marks_follow_gpu_work() -> None:
    """Events resolve to the perf_counter base: a ~50 ms GPU sleep shows up between two marks."""
    import time

    from infermeter.core.clock import clock_for

    c = clock_for("cuda")
    t0 = c.synced_now()
    m1 = c.mark()
    torch.cuda._sleep(100_000_000)  # spin ~50-100 ms on the GPU; the host does not wait
    m2 = c.mark()
    host_after_launch = time.perf_counter()
    t1, t2 = c.resolve([m1, m2])
    t_end = time.perf_counter()
    assert t0 <= t1 < t2 <= t_end
    assert t2 - t1 > 0.02  # the GPU work is inside the interval...
    assert host_after_launch < t2  # ...and the mark is when the GPU got there, not the launch time
