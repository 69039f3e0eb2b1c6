"""Roofline: how close a measured run came to the device's physical limits.

A decoder-only transformer's decode step reads every weight it multiplies by once (batched requests
share that read) plus, per sequence, the K and V cache of every position it attends to. At batch 1
that read dominates, so the decode speed limit is ``bandwidth / bytes per step`` and the achieved
share of the bandwidth is the MBU (model bandwidth utilization). Prefill is matmul-bound: its FLOPs
over TTFT, as a share of the measured matmul throughput, is the MFU.

Counting rules (docs/metrics.md#roofline):

* bytes per decode step = weights read (all parameters as loaded, minus the vision tower, minus an
  input embedding table that is not tied to the output head: a step gathers one row of it per
  sequence) + batch x context x KV bytes per token, KV bytes per token =
  2 (K and V) x layers x KV heads x head dim x dtype bytes. The context of a decode step is the
  prompt plus the tokens generated so far; over a call of n output tokens its mean is
  ``prompt + n / 2``. This counts the bytes the model needs, not what a kernel happens to move (a
  static cache that reads its whole padded length moves more and scores lower).
* FLOPs of a prefill = per sequence 2 x (linear weights of all layers) x T + the output head once
  (``generate`` computes logits for the last position only) + causal attention
  2 x layers x heads x head dim x T (T + 1) (QK^T and AV, half the square); for a vision-language
  model plus its vision tower's forward pass over the image patches.
* Achieved bandwidth is counted the way the calibration counts copy bandwidth (bytes read, plus
  bytes written where a copy writes): a share above 100% means the measurement is wrong.

Everything here is a pure function of a :class:`Geometry` (taken from the model config and the
loaded weights) and of records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from infermeter import stats
from infermeter.core.records import RequestRecord
from infermeter.metrics.throughput import by_batch, decode_tps

_QKV_BIASED = ("qwen2", "qwen2_vl", "qwen2_5_vl", "qwen2_vl_text", "qwen2_5_vl_text")


@dataclass(frozen=True)
class Vision:
    """A Qwen2(.5)-VL-style vision tower: ViT blocks over 14-pixel patches, a 2x2 patch merger."""

    depth: int
    hidden: int
    intermediate: int
    patch_params: int  # the patch embedding's weights (Conv3d over temporal x 14 x 14 x 3)
    merge: int  # spatial_merge_size: merge x merge patches become one LLM token
    out_hidden: int
    window_patches: int  # patches per attention window (0: every block attends over the whole image)
    full_attention_blocks: int
    gated_mlp: bool = True

    def linear_params_per_block(self) -> int:
        """Weights of one block's qkv, output projection and MLP."""
        mlp = (3 if self.gated_mlp else 2) * self.hidden * self.intermediate
        return 4 * self.hidden * self.hidden + mlp

    def merger_params(self) -> int:
        """The merger MLP's weights (applied once per merged token)."""
        merged = self.hidden * self.merge**2
        return merged * merged + merged * self.out_hidden


@dataclass(frozen=True)
class Geometry:
    """The shapes that decide bytes and FLOPs per step, for one model in one dtype."""

    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied_embeddings: bool
    dtype_bytes: int
    decode_weight_bytes: int  # weights one decode step reads (see the module docstring)
    source: str = "config"  # "config": counted from the config; "loaded": summed over the loaded tensors
    vision: Vision | None = None

    @property
    def kv_bytes_per_token(self) -> int:
        """K and V of one position in every layer."""
        return 2 * self.layers * self.kv_heads * self.head_dim * self.dtype_bytes

    def linear_params_per_layer(self) -> int:
        """Weights of q, k, v, o and the gated MLP of one decoder layer (what a token multiplies by)."""
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        return self.hidden * (2 * q + 2 * kv) + 3 * self.hidden * self.intermediate

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the report keeps it beside the roofline numbers)."""
        d = asdict(self)
        d["kv_bytes_per_token"] = self.kv_bytes_per_token
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Geometry:
        """Inverse of :meth:`to_dict`."""
        d = {k: v for k, v in d.items() if k != "kv_bytes_per_token"}
        if d.get("vision"):
            d["vision"] = Vision(**d["vision"])
        return cls(**d)


def _text_params(c: Any, model_type: str, tied: bool) -> tuple[int, int]:
    """(all text parameters, input embedding parameters) counted from a text config."""
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    q, kv = c.num_attention_heads * head_dim, c.num_key_value_heads * head_dim
    attention = c.hidden_size * (2 * q + 2 * kv)
    if model_type in _QKV_BIASED:
        attention += q + 2 * kv
    elif getattr(c, "attention_bias", False):
        attention += q + 2 * kv + c.hidden_size
    mlp = 3 * c.hidden_size * c.intermediate_size
    if getattr(c, "mlp_bias", False):
        mlp += 2 * c.intermediate_size + c.hidden_size
    norms = 2 * c.hidden_size + (2 * head_dim if model_type == "qwen3" else 0)  # Qwen3 normalizes q and k
    embedding = c.vocab_size * c.hidden_size
    total = c.num_hidden_layers * (attention + mlp + norms) + c.hidden_size + embedding * (1 if tied else 2)
    return total, embedding


def _vision(v: Any) -> Vision:
    window = getattr(v, "window_size", 0) or 0
    full = getattr(v, "fullatt_block_indexes", None)
    return Vision(
        depth=v.depth,
        hidden=v.hidden_size,
        intermediate=getattr(v, "intermediate_size", None) or int(v.hidden_size * getattr(v, "mlp_ratio", 4)),
        patch_params=v.in_channels * getattr(v, "temporal_patch_size", 1) * v.patch_size**2 * v.hidden_size,
        merge=v.spatial_merge_size,
        out_hidden=getattr(v, "out_hidden_size", None) or v.hidden_size,
        window_patches=(window // v.patch_size) ** 2 if window else 0,
        full_attention_blocks=len(full) if full is not None else v.depth,
        gated_mlp=hasattr(v, "intermediate_size") and hasattr(v, "fullatt_block_indexes"),
    )


def geometry_from_config(config: Any, dtype_bytes: int, weights: dict[str, int] | None = None) -> Geometry:
    """The geometry of a transformers config (text or vision-language) in a dtype of ``dtype_bytes``.

    ``weights``, when given, holds what the loaded model really has (``total``, ``vision`` and
    ``input_embedding`` bytes, and ``tied``): the decode weight bytes are then taken from the loaded
    tensors (a GGUF de-quantized on load, an unusual architecture) instead of config arithmetic.
    """
    c = config.get_text_config() if hasattr(config, "get_text_config") else config
    model_type = getattr(config, "model_type", "") or ""
    tied = bool(getattr(config, "tie_word_embeddings", getattr(c, "tie_word_embeddings", False)))
    vision = getattr(config, "vision_config", None)
    if weights is not None:
        tied = bool(weights.get("tied", tied))
        read = weights["total"] - weights.get("vision", 0) - (0 if tied else weights.get("input_embedding", 0))
        source = "loaded"
    else:
        total, embedding = _text_params(c, model_type, tied)
        read = (total - (0 if tied else embedding)) * dtype_bytes
        source = "config"
    return Geometry(
        layers=c.num_hidden_layers,
        hidden=c.hidden_size,
        heads=c.num_attention_heads,
        kv_heads=getattr(c, "num_key_value_heads", None) or c.num_attention_heads,
        head_dim=getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads,
        intermediate=c.intermediate_size,
        vocab=c.vocab_size,
        tied_embeddings=tied,
        dtype_bytes=dtype_bytes,
        decode_weight_bytes=int(read),
        source=source,
        vision=_vision(vision) if vision is not None else None,
    )


def geometry_from_model(model: Any) -> Geometry | None:
    """The geometry of a loaded transformers model, weights counted from its tensors; None if unknown."""
    try:
        params = list(model.parameters())
        dtype_bytes = max(p.element_size() for p in params if p.is_floating_point())
        total = sum(p.numel() * p.element_size() for p in params)
        visual = sum(p.numel() * p.element_size() for n, p in model.named_parameters() if ".visual." in f".{n}")
        inp, out = model.get_input_embeddings(), model.get_output_embeddings()
        tied = out is not None and inp.weight.data_ptr() == out.weight.data_ptr()
        emb = inp.weight.numel() * inp.weight.element_size()
        weights = {"total": total, "vision": visual, "input_embedding": emb, "tied": tied}
        return geometry_from_config(model.config, dtype_bytes, weights)
    except (AttributeError, TypeError, ValueError):
        return None


# -- bytes and FLOPs per step ----------------------------------------------------------------------
def decode_bytes(g: Geometry, batch: int, context: float) -> float:
    """Bytes one decode step must read: the weights once, each sequence's KV over ``context`` positions."""
    return g.decode_weight_bytes + batch * context * g.kv_bytes_per_token


def decode_flops(g: Geometry, batch: int, context: float) -> float:
    """FLOPs of one decode step: every linear weight and the output head per sequence, plus attention."""
    per_seq = 2 * (g.layers * g.linear_params_per_layer() + g.vocab * g.hidden)
    return batch * (per_seq + 4 * g.layers * g.heads * g.head_dim * context)


def vision_flops(v: Vision, patches: float, images: int = 1) -> float:
    """FLOPs of the vision tower over ``patches`` 14-pixel patches split evenly over ``images``."""
    if patches <= 0:
        return 0.0
    per_image = patches / max(images, 1)
    window = min(per_image, v.window_patches) if v.window_patches else per_image
    attn_full = 4 * v.hidden * patches * per_image  # QK^T and AV over each image's patches
    attn_window = 4 * v.hidden * patches * window
    windowed = v.depth - v.full_attention_blocks
    return (
        2 * v.patch_params * patches
        + 2 * v.linear_params_per_block() * patches * v.depth
        + v.full_attention_blocks * attn_full
        + windowed * attn_window
        + 2 * v.merger_params() * patches / v.merge**2
    )


def prefill_flops(g: Geometry, batch: int, prompt_tokens: int, image_tokens: int = 0, images: int = 0) -> float:
    """FLOPs of prefilling ``batch`` prompts of ``prompt_tokens`` (image tokens included in it)."""
    t = prompt_tokens
    per_seq: float = 2 * g.layers * g.linear_params_per_layer() * t + 2 * g.vocab * g.hidden
    per_seq += 2 * g.layers * g.heads * g.head_dim * t * (t + 1)
    if g.vision is not None and image_tokens:
        per_seq += vision_flops(g.vision, image_tokens * g.vision.merge**2, images or 1)
    return batch * per_seq


def ridge_batch(g: Geometry, flops_per_s: float, bytes_per_s: float, context: float) -> float | None:
    """Batch size where decode turns compute-bound: FLOPs/step over the FLOP rate = bytes/step over bandwidth."""
    w, kv = g.decode_weight_bytes, context * g.kv_bytes_per_token
    per_seq = decode_flops(g, 1, context) / flops_per_s
    denom = per_seq - kv / bytes_per_s
    return (w / bytes_per_s) / denom if denom > 0 else None


# -- achieved numbers from records ----------------------------------------------------------------
def _share(summary: stats.Summary | None, ceiling: float | None) -> dict[str, Any] | None:
    if summary is None or not ceiling:
        return None
    return {
        "mean": summary.mean / ceiling,
        "ci95_low": summary.ci95_low / ceiling if summary.n > 1 else None,
        "ci95_high": summary.ci95_high / ceiling if summary.n > 1 else None,
        "above_limit": summary.mean > ceiling,
    }


def decode_bandwidths(g: Geometry, records: list[RequestRecord]) -> list[float]:
    """Achieved bytes/s of each batch's decode: bytes per step x steps per second."""
    out = []
    for batch in by_batch(records).values():
        ok = [r for r in batch if r.ok and r.output_tokens >= 2]
        tps = decode_tps(batch)
        if not ok or tps is None:
            continue
        ctx = max(r.prompt_tokens for r in ok) + max(r.output_tokens for r in ok) / 2
        out.append(decode_bytes(g, len(ok), ctx) * tps / len(ok))
    return out


def prefill_flop_rates(g: Geometry, records: list[RequestRecord]) -> list[float]:
    """Achieved FLOP/s of each batch's prefill: prefill FLOPs over the batch's TTFT."""
    out = []
    for batch in by_batch(records).values():
        ok = [r for r in batch if r.ok]
        if not ok:
            continue
        ttft = max(r.token_times[0] for r in ok) - min(r.t_send for r in ok)
        width = max(r.prompt_tokens for r in ok)
        img = max(int(r.extra.get("image_tokens", 0) or 0) for r in ok)
        images = max(int(r.extra.get("images", 0) or 0) for r in ok)
        if ttft > 0:
            out.append(prefill_flops(g, len(ok), width, img, images) / ttft)
    return out


def _context(records: list[RequestRecord]) -> float:
    ok = [r for r in records if r.ok and r.output_tokens >= 1]
    if not ok:
        return 0.0
    return sum(r.prompt_tokens + r.output_tokens / 2 for r in ok) / len(ok)


def roofline(
    g: Geometry | None,
    records: list[RequestRecord],
    ceilings: dict[str, Any] | None,
    dtype: str,
    batch_records: list[RequestRecord] | None = None,
) -> dict[str, Any] | None:
    """The roofline section of a run report: decode MBU, prefill MFU, limits, and per batch size.

    ``ceilings`` is a calibration (``copy_bandwidth`` and ``matmul`` per dtype, bytes/s and FLOP/s
    summaries); without one the achieved numbers are still given, the shares are None.
    """
    if g is None:
        return None
    bw = ((ceilings or {}).get("copy_bandwidth") or {}).get("mean")
    peak = (((ceilings or {}).get("matmul") or {}).get(dtype) or {}).get("mean")
    ctx = _context(records)
    bw_s = stats.summarize(decode_bandwidths(g, records))
    fl_s = stats.summarize(prefill_flop_rates(g, records))
    bytes1 = decode_bytes(g, 1, ctx)
    out: dict[str, Any] = {
        "geometry": g.to_dict(),
        "mean_context": ctx,
        "bytes_per_decode_step_batch1": bytes1,
        "decode_bandwidth": bw_s.to_dict() if bw_s else None,
        "mbu": _share(bw_s, bw),
        "prefill_flops_per_s": fl_s.to_dict() if fl_s else None,
        "mfu": _share(fl_s, peak),
        "ceilings": {"copy_bandwidth": bw, "matmul": peak, "dtype": dtype} if ceilings else None,
        "limit_tps_batch1": bw / bytes1 if bw else None,
        "compute_bound_from_batch": ridge_batch(g, peak, bw, ctx) if bw and peak else None,
    }
    if batch_records:
        out["batches"] = _per_batch(g, batch_records, bw, peak)
    return out


def _per_batch(g: Geometry, records: list[RequestRecord], bw: float | None, peak: float | None) -> list[dict]:
    """MBU and decode MFU at each batch size of the batch-efficiency curve."""
    groups: dict[int, list[RequestRecord]] = {}
    for r in records:
        groups.setdefault(r.batch_size, []).append(r)
    points = []
    for b in sorted(groups):
        s = stats.summarize(decode_bandwidths(g, groups[b]))
        ctx = _context(groups[b])
        flops_per_byte = decode_flops(g, b, ctx) / decode_bytes(g, b, ctx)
        flop_rate = s.mean * flops_per_byte if s else None
        points.append(
            {
                "batch_size": b,
                "decode_bandwidth": s.mean if s else None,
                "mbu": _share(s, bw),
                "decode_mfu": flop_rate / peak if flop_rate and peak else None,
                "flops_per_byte": flops_per_byte,
            }
        )
    return points


def above_limit_warnings(section: dict[str, Any] | None) -> list[str]:
    """A share of a ceiling above 100% is a measurement error: say which."""
    if not section:
        return []
    out = []
    for key, what in (("mbu", "memory bandwidth"), ("mfu", "matmul throughput")):
        s = section.get(key)
        if s and s["above_limit"]:
            out.append(
                f"roofline: {what} at {s['mean']:.0%} of the calibrated limit: above 100% is a measurement "
                "error (timestamps, token counts, or a stale calibration)"
            )
    for p in section.get("batches") or []:
        if p["mbu"] and p["mbu"]["above_limit"]:
            out.append(f"roofline: batch {p['batch_size']} decode above the bandwidth limit: a measurement error")
    return out


def geometry_for_folder(folder: Any, dtype: str) -> dict[str, Any] | None:
    """The geometry of an HF model folder in ``dtype``, from its config alone (engines that load it
    themselves, like vLLM); None when the config cannot be read."""
    try:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(folder)
        return geometry_from_config(config, 4 if "32" in str(dtype) else 2).to_dict()
    except (OSError, ValueError, AttributeError, TypeError):
        return None
