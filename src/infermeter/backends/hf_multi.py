"""One HF model over several GPUs: layers placed by ``accelerate``, then verified tensor by tensor.

``model.device: cuda:0,cuda:1`` spreads the decoder layers over the GPUs in balanced parts (pipeline
placement: the GPUs take turns, one layer block after the other; no tensor parallelism);
``model.device_map`` gives the placement module by module instead. The placement that was declared is
then checked against where every parameter and buffer actually is: a tensor on an undeclared device
(the CPU, unless ``allow_offload``) is an error, and the report lists tensors and weight bytes per device.
"""

from __future__ import annotations

from typing import Any

from infermeter.errors import InfermeterError


def balanced_map(model: Any, devices: list[str]) -> dict[str, Any]:
    """``accelerate``'s balanced device map of ``model`` over ``devices`` (whole decoder layers)."""
    import torch
    from accelerate import infer_auto_device_map
    from accelerate.utils import get_balanced_memory

    idx = [torch.device(d).index for d in devices]
    no_split = getattr(model, "_no_split_modules", None) or []
    total = {i: torch.cuda.get_device_properties(i).total_memory for i in idx}
    budget = get_balanced_memory(model, max_memory=total, no_split_module_classes=no_split)
    budget = {k: v for k, v in budget.items() if k in idx}  # never the CPU
    return infer_auto_device_map(model, max_memory=budget, no_split_module_classes=no_split)


def spread(model: Any, devices: list[str], device_map: dict[str, str] | None, allow_offload: bool) -> dict[str, str]:
    """Place ``model`` over ``devices`` (balanced, or ``device_map``); returns the map applied."""
    from accelerate import dispatch_model

    dmap = dict(device_map) if device_map else balanced_map(model, devices)
    norm = {k: (f"cuda:{v}" if isinstance(v, int) else str(v)) for k, v in dmap.items()}
    stray = sorted({v for v in norm.values() if v not in devices and not (allow_offload and v in ("cpu", "disk"))})
    if stray:
        raise InfermeterError(
            f"device_map places modules on {', '.join(stray)}, not among --device {','.join(devices)}"
            + ("" if allow_offload else " (set allow_offload=true to accept CPU offload)")
        )
    dispatch_model(model, device_map=dmap)
    return norm


def per_device(model: Any) -> dict[str, dict[str, int]]:
    """Tensors and bytes of parameters and buffers on each device."""
    out: dict[str, dict[str, int]] = {}
    for t in list(model.parameters()) + list(model.buffers()):
        row = out.setdefault(str(t.device), {"tensors": 0, "bytes": 0})
        row["tensors"] += 1
        row["bytes"] += t.numel() * t.element_size()
    return out
