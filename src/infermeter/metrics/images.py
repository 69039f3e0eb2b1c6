"""Image inputs of vision-language requests: how many tokens the images became, and what preparing
them cost before the request was sent.

Records of a vision-language model carry, in ``extra``: ``images`` (files in the prompt),
``image_tokens`` (image placeholder tokens after the processor expanded them; part of
``prompt_tokens``), and for prompts with images ``image_load_s`` (decoding the files) and
``image_preprocess_s`` (the processor call: resize, normalize, patchify, expand, tokenize).
Preprocessing happens before ``t_send``: it is not inside TTFT, whose prefill includes the vision
encoder's forward pass. See docs/metrics.md.
"""

from __future__ import annotations

from typing import Any

from infermeter import stats
from infermeter.core.records import RequestRecord


def image_inputs(records: list[RequestRecord]) -> dict[str, Any] | None:
    """Counts and preprocessing-time distributions over requests; None when no request had images."""
    seen = [r for r in records if "image_tokens" in r.extra]
    with_images = [r for r in seen if r.extra.get("images")]
    if not with_images:
        return None
    image_tokens = [r.extra["image_tokens"] for r in with_images]
    prompt_tokens = sum(r.prompt_tokens for r in with_images)
    return {
        "requests": len(seen),
        "requests_with_images": len(with_images),
        "images": sum(r.extra["images"] for r in with_images),
        "image_tokens": sum(image_tokens),
        "image_tokens_per_prompt": stats.summary_dict([float(n) for n in image_tokens]),
        "image_token_share": sum(image_tokens) / prompt_tokens if prompt_tokens else None,
        "load_s": stats.summary_dict([r.extra["image_load_s"] for r in with_images if "image_load_s" in r.extra]),
        "preprocess_s": stats.summary_dict(
            [r.extra["image_preprocess_s"] for r in with_images if "image_preprocess_s" in r.extra]
        ),
    }
