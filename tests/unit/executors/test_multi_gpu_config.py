"""One model over several GPUs: the config accepts device lists and vLLM's parallel sizes; placement
checks accept every declared GPU and refuse the rest; per-GPU peaks merge per GPU."""

from __future__ import annotations

import pytest

from infermeter.backends.hf import check_placement
from infermeter.backends.vllm import _engine_kwargs
from infermeter.config import build_config
from infermeter.core.device import device_list, resolve_device
from infermeter.core.memory import MemoryPeak, merge_peaks
from infermeter.errors import InfermeterError


def test_a_device_list_is_a_valid_device_and_a_repeated_gpu_is_not() -> None:
    assert build_config(None, {"device": "cuda:0, cuda:1"}).model.device == "cuda:0,cuda:1"
    with pytest.raises(InfermeterError, match="lists a GPU twice"):
        build_config(None, {"device": "cuda:0,cuda:0"})
    with pytest.raises(InfermeterError, match="unknown device"):
        build_config(None, {"device": "cuda:0,cpu"})
    assert device_list("cuda:0,cuda:1") == ["cuda:0", "cuda:1"]


def test_vllm_gets_tensor_and_pipeline_parallel_sizes(tmp_path) -> None:  # noqa: ANN001
    cfg = build_config(None, {"backend": "vllm", "tensor_parallel_size": 2, "pipeline_parallel_size": 2})
    kw = _engine_kwargs(cfg, tmp_path)
    assert kw["tensor_parallel_size"] == 2 and kw["pipeline_parallel_size"] == 2
    assert "tensor_parallel_size" not in _engine_kwargs(build_config(None, {"backend": "vllm"}), tmp_path)


def test_a_gpu_list_on_a_host_without_that_gpu_is_one_line() -> None:
    import torch

    if torch.cuda.device_count() >= 8:
        pytest.skip("this host has 8 GPUs")
    expect = "only .* GPU.s. visible" if torch.cuda.is_available() else "torch sees no CUDA GPU"
    with pytest.raises(InfermeterError, match=expect):
        resolve_device("cuda:0,cuda:7")


def test_placement_over_declared_gpus_passes_and_elsewhere_fails() -> None:
    check_placement({"cuda:0": 10, "cuda:1": 12}, ["cuda:0", "cuda:1"], allow_offload=False)
    with pytest.raises(InfermeterError, match="not entirely on cuda:0,cuda:1: 3 tensors on cpu"):
        check_placement({"cuda:0": 10, "cpu": 3}, ["cuda:0", "cuda:1"], allow_offload=False)
    check_placement({"cuda:0": 10, "cpu": 3}, ["cuda:0", "cuda:1"], allow_offload=True)
    check_placement({"cpu": 3}, "cpu", allow_offload=False)  # one device, as before


def test_per_gpu_peaks_merge_gpu_by_gpu() -> None:
    a = MemoryPeak(rss=1, rss_method="vmhwm", torch_allocated=30, per_device={"cuda:0": 20, "cuda:1": 10})
    b = MemoryPeak(rss=2, rss_method="vmhwm", torch_allocated=35, per_device={"cuda:0": 15, "cuda:1": 20})
    merged = merge_peaks([a, b])
    assert merged.per_device == {"cuda:0": 20, "cuda:1": 20}
    assert merge_peaks([MemoryPeak(rss=1, rss_method="vmhwm")]).per_device is None
