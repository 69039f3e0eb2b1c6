"""Which torch device a configuration means: ``auto`` resolved once, for backends and clocks alike."""

from __future__ import annotations

from infermeter.errors import InfermeterError


def device_list(device: str) -> list[str]:
    """``cuda:0,cuda:1`` -> ``["cuda:0", "cuda:1"]`` (one model over several GPUs); one device -> ``[device]``."""
    return [d.strip() for d in device.split(",") if d.strip()]


def resolve_device(device: str) -> str:
    """``auto`` -> cuda when a GPU is visible, else cpu; a missing GPU is a clear error.

    A list (``cuda:0,cuda:1``) is checked GPU by GPU and resolves to its first device, where inputs go
    and clocks run; the HF backend spreads the model over the whole list.
    """
    import torch

    if "," in device:
        return [resolve_device(d) for d in device_list(device)][0]

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InfermeterError(f"--device {device} was asked for, but torch sees no CUDA GPU")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            n = torch.cuda.device_count()
            raise InfermeterError(f"--device {device}: only {n} GPU(s) visible (cuda:0..cuda:{n - 1})")
    return device
