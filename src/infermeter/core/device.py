"""Which torch device a configuration means: ``auto`` resolved once, for backends and clocks alike."""

from __future__ import annotations

from infermeter.errors import InfermeterError


def resolve_device(device: str) -> str:
    """``auto`` -> cuda when a GPU is visible, else cpu; a missing GPU is a clear error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InfermeterError(f"--device {device} was asked for, but torch sees no CUDA GPU")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise InfermeterError(f"--device {device}: only {torch.cuda.device_count()} GPU(s) visible")
    return device
