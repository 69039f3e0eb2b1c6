"""What a backend is given and what it gives back: a :class:`Prompt` in, a :class:`Generation` out.

Plain value types, below every backend, so that models (vision processors), workloads and backends
share them without depending on each other.
"""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Prompt:
    """A prompt ready to send: token ids (and the text they came from, when known)."""

    ids: list[int]
    text: str | None = None
    messages: list[dict[str, Any]] | None = None  # chat messages, for backends that take them (HTTP)
    images: list[str] = field(default_factory=list)  # image file paths (vision-language models)
    extra: dict[str, Any] = field(default_factory=dict)  # backend-specific (e.g. processed pixel inputs)


def fingerprint(prompt: Prompt) -> str:
    """A short hash of what a prompt sends (token ids and images): equal inputs, equal fingerprints."""
    h = hashlib.blake2b(digest_size=8)
    h.update(array("q", prompt.ids).tobytes())
    for image in prompt.images:
        h.update(str(image).encode())
    return h.hexdigest()


@dataclass
class Generation:
    """What came back for one prompt: its send time, one timestamp per output token, and the text."""

    t_send: float
    token_times: list[float]
    text: str
    output_ids: list[int] = field(default_factory=list)
    error: str | None = None  # why this request failed (servers); None when it succeeded
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. usage from a server, tokens per chunk
