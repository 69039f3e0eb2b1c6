"""HuggingFace transformers, in-process.

Per-token timestamps come from a stopping-criterion hook: ``generate`` calls it once per decoding
step, right after the new token is appended, for sampling, greedy and beam search alike and for
any batch size (streamers refuse beam search). The hook only takes a clock mark (a CUDA event on
GPU, so the host never waits on our account); marks become seconds after ``generate`` returns.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from infermeter.backends.base import Backend, Generation, LoadInfo, Prompt, register
from infermeter.backends.hf_multi import per_device, spread
from infermeter.core.device import device_list, resolve_device
from infermeter.core.memory import track_devices
from infermeter.errors import InfermeterError
from infermeter.metrics.roofline import geometry_from_model
from infermeter.models import vision
from infermeter.models.resolve import load_model
from infermeter.models.vision import RECORD_KEYS, batch_inputs, warm_processor

if TYPE_CHECKING:
    import numpy as np

    from infermeter.config import GenerationParams
    from infermeter.workloads.base import WorkItem

_DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def resolve_dtype(dtype: str, device: str) -> Any:
    """``auto`` -> bfloat16 on CUDA, float32 on CPU."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, _DTYPES[dtype])


def placement(model: Any) -> dict[str, int]:
    """How many parameter and buffer tensors live on each device."""
    counts: dict[str, int] = {}
    for t in list(model.parameters()) + list(model.buffers()):
        key = str(t.device)
        counts[key] = counts.get(key, 0) + 1
    return counts


def check_placement(counts: dict[str, int], device: str | list[str], allow_offload: bool) -> None:
    """Refuse a model that is partly elsewhere than the requested device(s) (the partly-offloaded-model trap)."""
    wanted = [device] if isinstance(device, str) else device
    want = {d if ":" in d or d == "cpu" else f"{d}:0" for d in wanted}
    stray = {d: n for d, n in counts.items() if d not in want and not (d == "cuda" and "cuda:0" in want)}
    if stray and not allow_offload:
        where = ", ".join(f"{n} tensors on {d}" for d, n in stray.items())
        raise InfermeterError(
            f"model is not entirely on {','.join(sorted(want))}: {where} (set allow_offload=true to accept offloading)"
        )


class _StepMarks:
    """Stopping criterion that never stops: it marks the clock at each decoding step."""

    def __init__(self, clock: Any) -> None:
        self.mark = clock.mark
        self.marks: list[Any] = []
        self._false: Any = None

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        self.marks.append(self.mark())
        if self._false is None or self._false.shape[0] != input_ids.shape[0]:
            import torch

            self._false = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        return self._false


def _geometry(model: Any) -> dict[str, Any] | None:

    g = geometry_from_model(model)
    return g.to_dict() if g else None


@register("hf")
class HFBackend(Backend):
    """transformers ``generate()`` in this process."""

    def load(self) -> LoadInfo:
        """Load, move, verify placement, and apply compile settings."""
        import torch

        mc = self.config.model
        self.device = resolve_device(mc.device)  # the first device of a list: inputs and clocks live there
        devices = device_list(mc.device) if "," in mc.device else [self.device]
        dtype = resolve_dtype(mc.dtype, self.device)
        t0 = time.perf_counter()
        loaded = load_model(
            mc.name,
            dtype=dtype,
            device=self.device,
            attn=mc.attn_implementation,
            random_weights=mc.random_weights,
            seed=self.config.seed,
        )
        model = loaded.model
        spread_map = None
        if len(devices) > 1 or mc.device_map:  # one model over several GPUs (pipeline placement)
            spread_map = spread(model, devices, mc.device_map, mc.allow_offload)
            track_devices(devices)  # peak memory per GPU in every window
        elif not mc.allow_offload:
            model.to(self.device)
        model.eval()
        counts = placement(model)
        check_placement(counts, devices, mc.allow_offload)
        if self.device.startswith("cuda"):
            for d in devices:
                torch.cuda.synchronize(d)
        load_s = time.perf_counter() - t0
        self.model, self.tok, self.fold = model, loaded.tokenizer, loaded.fold_vocab
        self.processor = loaded.processor  # vision-language models: images + text -> inputs
        if self.processor is not None:
            warm_processor(self.processor)
        self.eos = self._eos_ids()
        self._plain_ids: Any = None
        notes = list(loaded.notes)
        if self.processor is not None:
            notes.append("image processor warmed up once at load (a blank 56x56 image), outside any measurement")
        if mc.compile == "on" and mc.kv_cache != "static":
            # transformers only auto-compiles with a static cache; compile the forward ourselves.
            model.forward = torch.compile(model.forward)
            notes.append("torch.compile(model.forward) on a dynamic cache: expect recompiles per shape")
        params = sum(p.numel() for p in model.parameters())
        weights = sum(p.numel() * p.element_size() for p in model.parameters())
        return LoadInfo(
            model=mc.name,
            architecture=type(model).__name__,
            device=",".join(devices),
            dtype=str(dtype).removeprefix("torch."),
            load_s=load_s,
            parameters=params,
            weights_bytes=weights,
            placement=counts,
            tokenizer=loaded.tokenizer_name,
            notes=notes,
            extra={
                "attn_implementation": getattr(model.config, "_attn_implementation", None),
                "geometry": _geometry(model),  # shapes and weight bytes for the roofline
                **(self._spread_facts(model, devices, spread_map) if spread_map is not None else {}),
                **({"image_processor": type(loaded.processor.image_processor).__name__} if loaded.processor else {}),
            },
        )

    @staticmethod
    def _spread_facts(model: Any, devices: list[str], spread_map: dict[str, str]) -> dict[str, Any]:
        """What a model over several GPUs reports: declared map, verified tensors and bytes per device."""

        return {"devices": devices, "device_map": spread_map, "per_device": per_device(model)}

    def _eos_ids(self) -> set[int]:
        ids = self.model.generation_config.eos_token_id
        ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
        if self.tok.eos_token_id is not None:
            ids.add(self.tok.eos_token_id)
        return ids

    def _fold(self, ids: list[int]) -> list[int]:
        return [i % self.fold for i in ids] if self.fold else ids

    def encode(self, item: WorkItem) -> Prompt:
        """Chat template when the tokenizer has one (and chat is on), else the plain text.

        A vision-language model's items go through its processor (images or not), timed apart.
        """
        if self.processor is not None:
            return vision.encode(self.processor, item, self.clock, chat=self.config.workload.chat)
        if item.images:
            raise InfermeterError(
                f"item {item.id} has images but {self.config.model.name} takes text only "
                "(use a vision-language model, e.g. qwen2.5-vl-3b)"
            )
        if self.config.workload.chat and getattr(self.tok, "chat_template", None):
            enc = self.tok.apply_chat_template(item.messages(), add_generation_prompt=True, tokenize=True)
            ids = enc["input_ids"] if isinstance(enc, dict) or hasattr(enc, "keys") else enc
        else:  # no template: a system prompt (shared-prefix workload) goes first, as plain text
            ids = self.tok(f"{item.system}\n\n{item.prompt}" if item.system else item.prompt)["input_ids"]
        return Prompt(ids=self._fold(list(ids)), text=item.prompt)

    def synthetic_prompt(self, n_tokens: int, rng: np.random.Generator) -> Prompt:
        """Ids drawn uniformly from ordinary tokens valid for both the tokenizer and the model."""
        import numpy as np

        if self._plain_ids is None:
            special = set(self.tok.all_special_ids) | set(getattr(self.tok, "added_tokens_decoder", {}))
            limit = min(len(self.tok), self.model.config.get_text_config().vocab_size)
            self._plain_ids = np.array([i for i in range(limit) if i not in special])
        ids = rng.choice(self._plain_ids, size=n_tokens).tolist()
        return Prompt(ids=ids, text=None)

    def _generate_kwargs(self, params: GenerationParams, force_len: bool) -> dict[str, Any]:
        mc = self.config.model
        kw: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "num_beams": params.num_beams,
            "do_sample": params.do_sample,
            "pad_token_id": self.tok.pad_token_id,
        }
        if params.do_sample:
            kw.update(temperature=params.temperature, top_p=params.top_p)
            if params.top_k is not None:
                kw["top_k"] = params.top_k
        if force_len:
            kw["min_new_tokens"] = params.max_new_tokens
        if mc.kv_cache == "off":
            kw["use_cache"] = False
        elif mc.kv_cache == "static":
            kw["cache_implementation"] = "static"
        if mc.compile == "off":
            kw["disable_compile"] = True
        elif mc.compile == "on" and mc.kv_cache == "static" and not self.device.startswith("cuda"):
            from transformers import CompileConfig

            cc = CompileConfig()
            # transformers compiles only on accelerators by default
            cc._compile_all_devices = True  # type: ignore[assignment]  # declared None; True turns it on
            kw["compile_config"] = cc
        return kw

    def generate(self, prompts: list[Prompt], params: GenerationParams, force_len: bool) -> list[Generation]:
        """One ``generate`` call for the whole batch, left-padded."""
        import torch
        from transformers import StoppingCriteriaList

        width = max(len(p.ids) for p in prompts)
        pad = self.tok.pad_token_id
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, p in enumerate(prompts):
            ids[row, width - len(p.ids) :] = torch.tensor(p.ids)
            mask[row, width - len(p.ids) :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        kw = self._generate_kwargs(params, force_len)
        if self.processor is not None:
            kw.update(batch_inputs(prompts, width, self.device))  # pixels move before t_send
        hook = _StepMarks(self.clock)
        with torch.inference_mode():
            t_send = self.clock.synced_now()
            out = self.model.generate(
                input_ids=ids, attention_mask=mask, stopping_criteria=StoppingCriteriaList([hook]), **kw
            )
        times = self.clock.resolve(hook.marks)
        new = out[:, width:].tolist()
        gens = []
        for p, row in zip(prompts, new, strict=True):
            n = next((i + 1 for i, t in enumerate(row) if t in self.eos), len(row))
            text = self.tok.decode(row[:n], skip_special_tokens=True)
            gen = Generation(t_send=t_send, token_times=times[:n], text=text, output_ids=row[:n])
            if self.processor is not None:
                gen.extra = {k: p.extra[k] for k in RECORD_KEYS if k in p.extra}
            gens.append(gen)
        return gens
