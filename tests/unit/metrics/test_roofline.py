"""Roofline arithmetic against hand computation from the published configs.

Every expected number below is written out from the config values (hidden size h, intermediate i,
layers L, heads H, KV heads K, head dim d, vocabulary V), independently of the code under test.
"""

from __future__ import annotations

import pytest

from infermeter.metrics.roofline import (
    Geometry,
    above_limit_warnings,
    decode_bytes,
    geometry_from_config,
    prefill_flops,
    roofline,
    vision_flops,
)
from infermeter.models.presets import get_preset


def _geometry(name: str, dtype_bytes: int = 2) -> Geometry:
    return geometry_from_config(get_preset(name).build_config(), dtype_bytes)


def test_qwen3_1_7b_bytes_per_decode_step():
    g = _geometry("qwen3-1.7b")
    h, i, L, H, K, d, V = 2048, 6144, 28, 16, 8, 128, 151936
    attention = h * (H * d) + 2 * h * (K * d) + (H * d) * h  # q, k, v, o; no biases
    mlp = 3 * h * i
    norms = 2 * h + 2 * d  # two RMSNorms per layer, plus Qwen3's q/k norms
    params = L * (attention + mlp + norms) + h + V * h  # final norm; tied embeddings counted once
    assert params == 1_720_574_976  # "1.7B": what the model card calls it
    assert g.decode_weight_bytes == 2 * params  # 3.44 GB in bf16
    assert g.kv_bytes_per_token == 2 * L * K * d * 2 == 114_688
    # at a 1,000-token context, batch 4: weights once, KV per sequence
    assert decode_bytes(g, 4, 1000) == 2 * params + 4 * 1000 * 114_688
    # The bandwidth limit of the issue: 4.28 TB/s over 3.44 GB is ~1,244 tok/s at batch 1.
    assert 4.28e12 / decode_bytes(g, 1, 0) == pytest.approx(1243.8, abs=0.1)


def test_qwen3_1_7b_prefill_flops():
    g = _geometry("qwen3-1.7b")
    h, i, L, H, K, d, V, T = 2048, 6144, 28, 16, 8, 128, 151936, 128
    linear = h * H * d + 2 * h * K * d + H * d * h + 3 * h * i
    expected = 2 * L * linear * T + 2 * V * h + 2 * L * H * d * T * (T + 1)
    assert prefill_flops(g, 1, T) == expected
    assert prefill_flops(g, 8, T) == 8 * expected


def test_llama_3_2_1b():
    g = _geometry("llama-3.2-1b")
    h, i, L, H, K, d, V = 2048, 8192, 16, 32, 8, 64, 128256
    params = L * (h * H * d + 2 * h * K * d + H * d * h + 3 * h * i + 2 * h) + h + V * h
    assert params == 1_235_814_400 == get_preset("llama-3.2-1b").param_count()
    assert g.decode_weight_bytes == 2 * params
    assert g.kv_bytes_per_token == 2 * 16 * 8 * 64 * 2 == 32_768
    T = 512
    linear = h * H * d + 2 * h * K * d + H * d * h + 3 * h * i
    assert prefill_flops(g, 1, T) == 2 * L * linear * T + 2 * V * h + 2 * L * H * d * T * (T + 1)


def test_fp32_doubles_bytes():
    assert _geometry("qwen3-1.7b", 4).decode_weight_bytes == 2 * _geometry("qwen3-1.7b", 2).decode_weight_bytes


def test_qwen2_5_vl_3b_vision_tower_is_read_in_prefill_not_in_decode():
    g = _geometry("qwen2.5-vl-3b")
    h, i, L, H, K, d, V = 2048, 11008, 36, 16, 2, 128, 151936
    text = L * (h * H * d + 2 * h * K * d + H * d * h + (H * d + 2 * K * d) + 3 * h * i + 2 * h) + h + V * h
    assert g.decode_weight_bytes == 2 * text  # the 0.67B vision tower is not read while decoding
    total = get_preset("qwen2.5-vl-3b").param_count()
    vh, vi, m = 1280, 3420, 1280 * 4  # vision hidden, MLP width, merged width (2x2 patches)
    block = 2 * vh + (3 * vh * vh + 3 * vh) + (vh * vh + vh) + (3 * vh * vi + 2 * vi + vh)
    tower = 3 * 2 * 14 * 14 * vh + 32 * block + vh + (m * m + m) + (m * h + h)
    assert total - text == tower == 668_684_288  # the 0.67B vision tower
    assert g.kv_bytes_per_token == 2 * L * K * d * 2 == 36_864
    # vision tower over one image of 4 x 256 = 1,024 patches (256 image tokens after the 2x2 merge)
    vh, vi, depth, P, W = 1280, 3420, 32, 1024, 64  # window 112 px = 8 x 8 patches
    block = 4 * vh * vh + 3 * vh * vi
    merged = 4 * vh
    expected_vision = (
        2 * (3 * 2 * 14 * 14 * vh) * P  # patch embedding
        + 2 * block * P * depth
        + 4 * (4 * vh * P * P)  # four full-attention blocks
        + 28 * (4 * vh * P * W)  # 28 windowed blocks
        + 2 * (merged * merged + merged * h) * P / 4
    )
    assert vision_flops(g.vision, P, 1) == pytest.approx(expected_vision)
    T = 300  # 256 image tokens + 44 text tokens
    linear = h * H * d + 2 * h * K * d + H * d * h + 3 * h * i
    text_flops = 2 * L * linear * T + 2 * V * h + 2 * L * H * d * T * (T + 1)
    assert prefill_flops(g, 1, T, image_tokens=256, images=1) == pytest.approx(text_flops + expected_vision)
    assert prefill_flops(g, 1, T) == text_flops


def test_loaded_weights_override_config_arithmetic():
    cfg = get_preset("qwen3-1.7b").build_config()
    g = geometry_from_config(cfg, 2, {"total": 1000, "vision": 0, "input_embedding": 300, "tied": False})
    assert g.decode_weight_bytes == 700 and g.source == "loaded"  # an untied input table is gathered, not read


def test_roofline_from_records_mbu_and_mfu(simulate_batch):
    g = _geometry("qwen3-1.7b")
    # batch 1, prompt 16, 9 tokens: prefill 0.5 s, 8 steps of 0.0625 s -> 16 tok/s decode
    recs = simulate_batch(prefill=0.5, step=0.0625, lengths=[9], batch_id=0) + simulate_batch(
        prefill=0.5, step=0.0625, lengths=[9], batch_id=1
    )
    ceilings = {"copy_bandwidth": {"mean": 1e11}, "matmul": {"bfloat16": {"mean": 1e13}}}
    section = roofline(g, recs, ceilings, "bfloat16")
    ctx = 16 + 9 / 2
    assert section["mean_context"] == ctx
    bw = decode_bytes(g, 1, ctx) * 16
    assert section["decode_bandwidth"]["mean"] == pytest.approx(bw)
    assert section["mbu"]["mean"] == pytest.approx(bw / 1e11)
    assert section["mfu"]["mean"] == pytest.approx(prefill_flops(g, 1, 16) / 0.5 / 1e13)
    assert section["limit_tps_batch1"] == pytest.approx(1e11 / decode_bytes(g, 1, ctx))
    # 16 tok/s x 3.4 GB = 55 GB/s: under a 100 GB/s ceiling, no warning; over a 10 GB/s one, flagged
    assert above_limit_warnings(section) == []
    low = roofline(g, recs, {"copy_bandwidth": {"mean": 1e10}, "matmul": {}}, "bfloat16")
    assert low["mbu"]["above_limit"] and "measurement error" in above_limit_warnings(low)[0]


def test_roofline_without_calibration_keeps_achieved_numbers(simulate_batch):
    g = _geometry("tiny-qwen3", 4)
    recs = simulate_batch(prefill=0.5, step=0.0625, lengths=[9, 9], batch_id=0, phase="batch")
    section = roofline(g, recs, None, "float32", batch_records=recs)
    assert section["mbu"] is None and section["limit_tps_batch1"] is None
    assert section["decode_bandwidth"]["n"] == 1
    (point,) = section["batches"]
    assert point["batch_size"] == 2 and point["mbu"] is None
    assert Geometry.from_dict(section["geometry"]) == g


def test_console_line_says_share_and_limit(simulate_batch):
    from infermeter.render.console_sol import roofline_line

    g = _geometry("qwen3-1.7b")
    recs = simulate_batch(prefill=0.5, step=0.0625, lengths=[9], batch_id=0) + simulate_batch(
        prefill=0.5, step=0.0625, lengths=[9], batch_id=1
    )
    section = roofline(g, recs, {"copy_bandwidth": {"mean": 4.28e12}, "matmul": {}}, "bfloat16")
    section["device"] = "cuda"
    line = roofline_line(section)
    assert line.startswith("decode at 1% [1%, 1%] of this GPU's memory bandwidth limit (1,243 tok/s at batch 1)")
    section["mbu"], section["calibration"] = None, {"missing": "run `infermeter calibrate`"}
    assert "run `infermeter calibrate`" in roofline_line(section)
