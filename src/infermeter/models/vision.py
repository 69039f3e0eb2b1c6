"""Vision-language models (Qwen2-VL, Qwen2.5-VL): their processor, built offline.

A Qwen-VL prompt holds one ``<|image_pad|>`` placeholder per image; the processor resizes each
image to multiples of 28 pixels, cuts it into 14x14 patches, and expands the placeholder into one
token per 2x2 group of patches, so the prompt's length depends on the image size. Nothing is
downloaded: the tokenizer is the offline Qwen tokenizer (its ids for the vision tokens are Qwen's),
and the image processor is transformers' own with the values of the published
``preprocessor_config.json`` of both model families: its defaults (patch 14, merge 2, CLIP
mean/std, at least 3136 pixels) except the pixel cap, 12845056 there vs 1003520 by default.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from infermeter.core.prompts import Prompt
from infermeter.errors import InfermeterError

if TYPE_CHECKING:
    from infermeter.core.clock import Clock
    from infermeter.workloads.base import WorkItem

VISION_MODEL_TYPES = ("qwen2_vl", "qwen2_5_vl")
IMAGE_PLACEHOLDER = "<|vision_start|><|image_pad|><|vision_end|>"

# The chat template published with Qwen2-VL and Qwen2.5-VL (chat_template.json): a default system
# turn, and one vision block per image item of a message's content list.
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def is_vision(config: Any) -> bool:
    """True for a Qwen2-VL / Qwen2.5-VL config (or its ``model_type`` string)."""
    model_type = config if isinstance(config, str) else getattr(config, "model_type", None)
    return model_type in VISION_MODEL_TYPES


# The published preprocessor_config.json's pixel bounds (passed as a new dict: transformers 5.17
# would otherwise write min_pixels/max_pixels into the class-level default).
PUBLISHED_SIZE = {"shortest_edge": 3136, "longest_edge": 12845056}


def default_image_processor() -> Any:
    """Qwen2-VL's image processor with the published settings.

    transformers has a torchvision backend and a PIL one with the same arithmetic; the PIL one is
    picked explicitly when torchvision is absent (the CPU sandbox), instead of transformers'
    fallback warning.
    """
    if importlib.util.find_spec("torchvision") is not None:
        from transformers import Qwen2VLImageProcessor

        return Qwen2VLImageProcessor(size=dict(PUBLISHED_SIZE))
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    return Qwen2VLImageProcessorPil(size=dict(PUBLISHED_SIZE))


def build_processor(model_type: str, tokenizer: Any, image_processor: Any = None) -> Any:
    """The model family's processor around ``tokenizer``, for images and text (no video).

    transformers' processors insist on a video processor (which needs torchvision); benchmarks send
    no video, so the check is relaxed for that one missing piece and nothing else.
    """
    from transformers import Qwen2_5_VLProcessor, Qwen2VLProcessor

    base = Qwen2_5_VLProcessor if model_type == "qwen2_5_vl" else Qwen2VLProcessor

    class ImageTextProcessor(base):  # type: ignore[misc, valid-type]  # a base chosen at run time
        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            if argument is None and argument_name == "video_processor":
                return None
            return super().check_argument_for_proper_class(argument_name, argument)

    return ImageTextProcessor(
        image_processor=image_processor or default_image_processor(),
        tokenizer=tokenizer,
        video_processor=None,
        chat_template=CHAT_TEMPLATE,
    )


def warm_processor(processor: Any) -> None:
    """Run the processor once on a blank image: its first call pays one-time costs (lazy imports,
    resampling tables) that would otherwise land in the first item's preprocessing time."""
    from PIL import Image

    processor(text=[IMAGE_PLACEHOLDER], images=[Image.new("RGB", (56, 56))], return_tensors="pt")


def folder_image_processor(ref: str) -> Any:
    """A local model folder's image processor settings, or the defaults when it has none."""
    from transformers import AutoImageProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    try:
        try:
            return AutoImageProcessor.from_pretrained(ref, local_files_only=True)
        except ImportError:  # transformers 5.17 without torchvision: the PIL twin reads the same file
            return Qwen2VLImageProcessorPil.from_pretrained(ref, local_files_only=True)
    except (OSError, ValueError):
        return default_image_processor()


# -- prompts -----------------------------------------------------------------------------------------
# Per-prompt facts a backend copies into Generation.extra (and so into the request's record).
RECORD_KEYS = ("images", "image_tokens", "image_load_s", "image_preprocess_s")


def load_images(item: WorkItem) -> list[Any]:
    """Decode the item's image files to RGB, or one error line naming the item and the file."""
    from PIL import Image, UnidentifiedImageError

    images = []
    for path in item.images:
        try:
            with Image.open(path) as im:
                images.append(im.convert("RGB"))
        except FileNotFoundError:
            raise InfermeterError(f"item {item.id}: image file not found: {path}") from None
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise InfermeterError(f"item {item.id}: cannot read image {path}: {err}") from None
    return images


def prompt_text(processor: Any, item: WorkItem, chat: bool) -> str:
    """The prompt text with one image placeholder per image, before the processor expands them."""
    if not chat:
        prefix = f"{item.system}\n\n" if item.system else ""
        return IMAGE_PLACEHOLDER * len(item.images) + prefix + item.prompt
    content: Any = item.prompt
    if item.images:
        content = [{"type": "image"} for _ in item.images] + [{"type": "text", "text": item.prompt}]
    messages = [{"role": "system", "content": item.system}] if item.system else []
    messages.append({"role": "user", "content": content})
    return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def encode(processor: Any, item: WorkItem, clock: Clock, chat: bool = True) -> Prompt:
    """Run the processor on one item; time the image decode and the processor call apart.

    The processor call (resize, normalize, patchify, placeholder expansion, tokenization) is the
    image preprocessing a server does before prefill; it happens here, before the request is sent,
    so it is in neither TTFT nor E2E latency and is reported on its own.
    """
    t0 = clock.now()
    images = load_images(item)
    t1 = clock.now()
    out = processor(text=[prompt_text(processor, item, chat)], images=images or None, return_tensors="pt")
    t2 = clock.now()
    ids = out["input_ids"][0].tolist()
    extra: dict[str, Any] = {"images": len(images), "image_tokens": ids.count(processor.image_token_id)}
    if images:
        n = len(ids)
        extra["image_load_s"], extra["image_preprocess_s"] = t1 - t0, t2 - t1
        extra["token_inputs"] = {  # one value per prompt token (mm_token_type_ids): padded like the ids
            k: v[0] for k, v in out.items() if k not in ("input_ids", "attention_mask") and v.shape[:2] == (1, n)
        }
        extra["vision_inputs"] = {  # concatenated over the batch (pixel_values, image_grid_thw)
            k: v for k, v in out.items() if k not in ("input_ids", "attention_mask") and v.shape[:2] != (1, n)
        }
    return Prompt(ids=ids, text=item.prompt, images=list(item.images), extra=extra)


def batch_inputs(prompts: list[Prompt], width: int, device: str) -> dict[str, Any]:
    """The extra ``generate`` inputs of a left-padded batch; empty when no prompt has an image."""
    import torch

    with_images = [p for p in prompts if "vision_inputs" in p.extra]
    if not with_images:
        return {}
    kw = {
        k: torch.cat([p.extra["vision_inputs"][k] for p in with_images]).to(device)
        for k in with_images[0].extra["vision_inputs"]
    }
    for k, first in with_images[0].extra["token_inputs"].items():
        padded = torch.zeros((len(prompts), width), dtype=first.dtype)
        for row, p in enumerate(prompts):
            if "token_inputs" in p.extra:
                padded[row, width - len(p.ids) :] = p.extra["token_inputs"][k]
        kw[k] = padded.to(device)
    return kw


def with_other_pixels(prompt: Prompt, seed: int) -> Prompt:
    """The same prompt with seeded random pixel values of the same shapes (a different-input warm-up).

    Text-only warm-up prompts never reach the vision tower, so its first-call costs would land in
    the first measured batch; this input runs it with exactly the shapes that will be measured.
    """
    import dataclasses

    import torch

    if "vision_inputs" not in prompt.extra:
        return prompt
    pixels = prompt.extra["vision_inputs"]["pixel_values"]
    gen = torch.Generator().manual_seed(seed)
    other = torch.randn(pixels.shape, generator=gen, dtype=pixels.dtype)
    vision_inputs = {**prompt.extra["vision_inputs"], "pixel_values": other}
    return dataclasses.replace(prompt, extra={**prompt.extra, "vision_inputs": vision_inputs})
