"""The HF backend with a vision-language model: the tiny random Qwen2.5-VL and its real processor."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from infermeter.backends.hf import HFBackend
from infermeter.config import build_config
from infermeter.core.clock import FakeClock, PerfClock
from infermeter.core.records import RequestRecord
from infermeter.errors import InfermeterError
from infermeter.metrics.images import image_inputs
from infermeter.models.vision import batch_inputs, with_other_pixels
from infermeter.workloads.base import WorkItem

IMAGE_PAD = 151655  # Qwen's <|image_pad|>


class TickClock(FakeClock):
    """Every reading is one second after the previous one: durations count clock reads."""

    def now(self) -> float:
        self.t += 1.0
        return self.t

    synced_now = now
    mark = now


@pytest.fixture(scope="module")
def vlm() -> HFBackend:
    backend = HFBackend(build_config({"model": {"name": "tiny-qwen2.5-vl", "device": "cpu"}}), PerfClock())
    info = backend.load()
    assert info.architecture == "Qwen2_5_VLForConditionalGeneration"
    assert info.extra["image_processor"].startswith("Qwen2VLImageProcessor")
    return backend


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("images")
    out = {}
    for name, size in (("small", (64, 64)), ("wide", (300, 200))):
        path = root / f"{name}.png"
        Image.new("RGB", size, (200, 40, 40)).save(path)
        out[name] = str(path)
    (root / "broken.png").write_bytes(b"not a png")
    out["broken"] = str(root / "broken.png")
    return out


def _params(vlm: HFBackend, **kw):
    return vlm.config.generation.model_copy(update=kw)


def test_image_tokens_follow_the_image_size(vlm, images) -> None:
    # 64x64 resizes to 56x56: 4x4 patches of 14 px, merged 2x2 -> 4 tokens. 300x200 resizes to
    # 308x196 (multiples of 28): 22x14 patches -> 77 tokens.
    for name, want in (("small", 4), ("wide", 77)):
        p = vlm.encode(WorkItem("q", "What shape is it?", images=(images[name],)))
        assert p.extra["images"] == 1
        assert p.extra["image_tokens"] == want == p.ids.count(IMAGE_PAD)
        grid = p.extra["vision_inputs"]["image_grid_thw"]
        assert int(grid.prod()) // 4 == want
        assert p.images == [images[name]]


def test_preprocessing_is_timed_with_the_run_clock(vlm, images) -> None:
    clock, vlm.clock = vlm.clock, TickClock()
    try:
        p = vlm.encode(WorkItem("q", "What shape is it?", images=(images["small"],)))
    finally:
        vlm.clock = clock
    # three reads: before decoding the file, between decode and the processor call, after it
    assert p.extra["image_load_s"] == 1.0
    assert p.extra["image_preprocess_s"] == 1.0


def test_prompt_uses_the_chat_template_placeholder(vlm, images) -> None:
    p = vlm.encode(WorkItem("q", "What shape is it?", system="Be brief.", images=(images["small"],)))
    text = vlm.tok.decode(p.ids)
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n<|vision_start|>")
    assert text.endswith("<|vision_end|>What shape is it?<|im_end|>\n<|im_start|>assistant\n")


def test_text_only_item(vlm) -> None:
    p = vlm.encode(WorkItem("t", "Say hi."))
    assert p.extra == {"images": 0, "image_tokens": 0}
    assert vlm.tok.decode(p.ids).startswith("<|im_start|>system\nYou are a helpful assistant.")
    g = vlm.generate([p], _params(vlm, max_new_tokens=4), True)[0]
    assert len(g.token_times) == 4
    assert g.extra == {"images": 0, "image_tokens": 0}


@pytest.mark.parametrize("knobs", [{"num_beams": 1}, {"num_beams": 2}, {"do_sample": True, "top_p": 0.8}])
def test_forced_length_and_timestamps_in_a_mixed_batch(vlm, images, knobs) -> None:
    prompts = [
        vlm.encode(WorkItem("a", "What shape?", images=(images["small"],))),
        vlm.encode(WorkItem("b", "What colour?", images=(images["wide"],))),
        vlm.encode(WorkItem("c", "No image here.")),
    ]
    gens = vlm.generate(prompts, _params(vlm, max_new_tokens=5, **knobs), True)
    for p, g in zip(prompts, gens, strict=True):
        assert len(g.token_times) == len(g.output_ids) == 5  # forced: random weights never stop it
        assert g.t_send <= g.token_times[0] <= g.token_times[-1]
        assert g.extra["image_tokens"] == p.extra["image_tokens"]
    assert gens[0].extra["image_preprocess_s"] > 0
    assert "image_preprocess_s" not in gens[2].extra


def test_left_padded_batch_matches_each_prompt_alone(vlm, images) -> None:
    """Image features and 3-D rope positions line up with left padding (a misaligned row would differ)."""
    prompts = [
        vlm.encode(WorkItem("a", "What shape?", images=(images["small"],))),
        vlm.encode(WorkItem("b", "What colour?", images=(images["wide"],))),
        vlm.encode(WorkItem("c", "No image here.")),
    ]

    def last_logits(batch):
        width = max(len(p.ids) for p in batch)
        ids = torch.full((len(batch), width), vlm.tok.pad_token_id)
        mask = torch.zeros_like(ids)
        for row, p in enumerate(batch):
            ids[row, width - len(p.ids) :] = torch.tensor(p.ids)
            mask[row, width - len(p.ids) :] = 1
        with torch.inference_mode():
            out = vlm.model(input_ids=ids, attention_mask=mask, **batch_inputs(batch, width, "cpu"))
        return out.logits[:, -1]

    together = last_logits(prompts)
    for row, p in enumerate(prompts):
        torch.testing.assert_close(together[row], last_logits([p])[0], atol=1e-4, rtol=1e-4)


def test_warm_up_input_has_the_same_shapes_and_other_pixels(vlm, images) -> None:
    p = vlm.encode(WorkItem("a", "What shape?", images=(images["wide"],)))
    other = with_other_pixels(p, 3)
    assert other.ids == p.ids
    a, b = p.extra["vision_inputs"]["pixel_values"], other.extra["vision_inputs"]["pixel_values"]
    assert a.shape == b.shape and not torch.equal(a, b)
    assert torch.equal(with_other_pixels(p, 3).extra["vision_inputs"]["pixel_values"], b)  # seeded
    text_only = vlm.encode(WorkItem("c", "No image."))
    assert with_other_pixels(text_only, 3) is text_only


def test_bad_images_name_the_item(vlm, images, tmp_path: Path) -> None:
    with pytest.raises(InfermeterError, match=r"item q7: image file not found: .*missing\.png"):
        vlm.encode(WorkItem("q7", "?", images=(str(tmp_path / "missing.png"),)))
    with pytest.raises(InfermeterError, match=r"item q8: cannot read image .*broken\.png"):
        vlm.encode(WorkItem("q8", "?", images=(images["broken"],)))


def test_text_model_refuses_images(images) -> None:
    backend = HFBackend(build_config({"model": {"name": "tiny-qwen3", "device": "cpu"}}), PerfClock())
    backend.load()
    with pytest.raises(InfermeterError, match="item q1 has images but tiny-qwen3 takes text only"):
        backend.encode(WorkItem("q1", "?", images=(images["small"],)))


def _record(i: int, **extra) -> RequestRecord:
    return RequestRecord(f"r{i}", "dataset", 0, 1, prompt_tokens=100, t_send=0.0, token_times=[1.0], extra=extra)


def test_image_inputs_metric() -> None:
    records = [
        _record(0, images=1, image_tokens=4, image_load_s=0.001, image_preprocess_s=0.010),
        _record(1, images=2, image_tokens=36, image_load_s=0.003, image_preprocess_s=0.030),
        _record(2, images=0, image_tokens=0),
        _record(3),  # a text model's record
    ]
    m = image_inputs(records)
    assert m["requests"] == 3 and m["requests_with_images"] == 2
    assert m["images"] == 3 and m["image_tokens"] == 40
    assert m["image_tokens_per_prompt"]["mean"] == 20.0
    assert m["image_token_share"] == pytest.approx(40 / 200)
    assert m["preprocess_s"]["mean"] == pytest.approx(0.020)
    assert m["load_s"]["max"] == pytest.approx(0.003)
    assert image_inputs([_record(0, images=0, image_tokens=0), _record(1)]) is None
