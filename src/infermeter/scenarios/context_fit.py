"""Refuse prompts that cannot fit the model's context window, before anything is built or sent.

A prompt of P tokens asked for N more needs P + N positions. Past the window a model either fails
deep inside a worker (an index error in the position embeddings, a 400 from a server) or, worse,
silently truncates and measures something else. The window comes from the model's config
(``max_position_embeddings``; a GGUF's ``context_length``), for an in-process vLLM engine also from
``engine.max_model_len``, and for a server from ``max_model_len`` in ``/v1/models`` where it reports one
(vLLM does; a server that does not is not checked).

What is checked: synthetic prompts (``workload.prompt_len`` + ``max_new_tokens``), for ``run`` also the
context-load curve and the batch-curve probe, and every dataset item (its prompt through the chat
template, plus its own output length or ``max_new_tokens``). Dataset prompts are tokenized only when
their UTF-8 size says they might not fit: a token covers at least one byte, so most datasets pass on
a byte count alone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from infermeter.backends.openai import OpenAIClient, client_tokenizer
from infermeter.config import RunConfig
from infermeter.errors import InfermeterError
from infermeter.models.context import model_context
from infermeter.workloads.base import WorkItem, load_items

#: tokens a chat template may add around the messages (role markers, a default system prompt)
TEMPLATE_MARGIN = 256
_SHOWN = 3  # item ids named in the error line


@dataclass(frozen=True)
class Window:
    """A context window in tokens and where it was read."""

    tokens: int
    source: str


def served_window(server: Any) -> Window | None:
    """``max_model_len`` of the served model from ``/v1/models``; None when not reported or unreachable.

    An unreachable server is not this check's error to give: the command's own first request says it.
    """

    async def ask() -> list[dict[str, Any]]:
        probe = OpenAIClient(server, model="")
        await probe.open()
        try:
            return await probe.model_entries()
        finally:
            await probe.close()

    try:
        entries = asyncio.run(ask())
    except InfermeterError:
        return None
    chosen = [e for e in entries if e.get("id") == server.served_model] or entries[:1]
    value = chosen[0].get("max_model_len") if chosen else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return Window(value, f"the server's max_model_len ({server.base_url})")
    return None


def context_window(cfg: RunConfig) -> Window | None:
    """The context window ``cfg`` will run under, or None when it cannot be told without loading."""
    if cfg.backend == "openai":
        return served_window(cfg.server) if cfg.server.base_url else None
    name = cfg.model.name
    native = model_context(name)
    window = Window(native, f"{name}'s max_position_embeddings") if native else None
    engine_len = cfg.engine.max_model_len if cfg.backend == "vllm" else None
    if engine_len and (window is None or engine_len < window.tokens):
        window = Window(engine_len, "engine.max_model_len")
    return window


def fixed_demands(cfg: RunConfig, command: str) -> list[tuple[str, int, int, str]]:
    """(what, prompt tokens, output tokens, what to change) of the synthetic prompts ``command`` sends."""
    wl, gen, m = cfg.workload, cfg.generation, cfg.measure
    out: list[tuple[str, int, int, str]] = []
    if wl.kind == "synthetic":
        out.append(("--prompt-len", wl.prompt_len, gen.max_new_tokens, "lower --prompt-len or --max-new-tokens"))
    if command == "run":
        if m.prompt_lens:  # the context-load curve decodes min(8, probe_output_len) tokens
            out.append(("--prompt-lens", max(m.prompt_lens), min(8, m.probe_output_len), "lower --prompt-lens"))
        if m.batch_sizes:
            probe = "--set probe_prompt_len=N (or --batch-sizes '' to skip the batch curve)"
            out.append(("measure.probe_prompt_len", m.probe_prompt_len, m.probe_output_len, probe))
    return out


def _upper_bound(item: WorkItem) -> int:
    """At least the item's prompt tokens: one token covers at least one byte."""
    texts = [item.prompt, item.system or "", *(c for _, c in item.history)]
    return sum(len(t.encode("utf-8")) for t in texts) + TEMPLATE_MARGIN


def _exact(tok: Any, item: WorkItem, chat: bool) -> int:
    """The item's prompt tokens as the backend encodes them (chat template when there is one)."""
    if chat and getattr(tok, "chat_template", None):
        enc = tok.apply_chat_template(item.messages(), add_generation_prompt=True, tokenize=True)
        return len(enc["input_ids"] if hasattr(enc, "keys") else enc)
    text = f"{item.system}\n\n{item.prompt}" if item.system else item.prompt
    return len(tok(text, add_special_tokens=False)["input_ids"])


@dataclass
class FitChecker:
    """Checks configurations against their context windows; windows and token counts are cached,
    so a sweep's thousands of points cost a few lookups."""

    windows: dict[tuple[Any, ...], Window | None] = field(default_factory=dict)
    tokenizers: dict[tuple[str, str], Any] = field(default_factory=dict)
    counts: dict[tuple[str, str, bool], int] = field(default_factory=dict)
    items: dict[str, list[WorkItem]] = field(default_factory=dict)

    def window(self, cfg: RunConfig) -> Window | None:
        """:func:`context_window`, cached by what decides it."""
        s = cfg.server
        key = (cfg.backend, cfg.model.name, s.base_url, s.served_model, cfg.engine.max_model_len)
        if key not in self.windows:
            self.windows[key] = context_window(cfg)
        return self.windows[key]

    def prompt_tokens(self, cfg: RunConfig, item: WorkItem, room: int) -> int:
        """The item's prompt tokens, or its cheap upper bound when that already fits in ``room``."""
        meta = dict(item.meta)
        if "input_len" in meta:  # random / trace items carry their length, not text
            return int(meta["input_len"])
        bound = _upper_bound(item)
        if bound <= room:
            return bound
        # An item's images add tokens on top of these: its text alone is a lower bound, enough to refuse.
        spec = cfg.server.tokenizer if cfg.backend == "openai" else "auto"
        tkey = (spec, cfg.model.name)
        if tkey not in self.tokenizers:
            self.tokenizers[tkey] = client_tokenizer(spec, cfg.model.name)[0]
        chat = cfg.workload.chat and (cfg.backend != "openai" or cfg.server.api == "chat")
        ckey = (repr(tkey), item.id, chat)
        if ckey not in self.counts:
            self.counts[ckey] = _exact(self.tokenizers[tkey], item, chat)
        return self.counts[ckey]

    def check(self, cfg: RunConfig, command: str, items: list[WorkItem] | None = None, where: str = "") -> None:
        """Raise one line when any prompt of ``cfg`` (+ its output) exceeds the context window."""
        window = self.window(cfg)
        if window is None:
            return
        limit, at = window.tokens, f" ({window.source})"
        for what, prompt, output, fix in fixed_demands(cfg, command):
            if prompt + output > limit:
                raise InfermeterError(
                    f"{where}{what} {prompt} + {output} new tokens = {prompt + output} exceeds the model's context of "
                    f"{limit} tokens{at}: {fix}"
                )
        if cfg.workload.kind == "synthetic":
            return
        gen, wl = cfg.generation, cfg.workload
        too_long: list[tuple[str, int]] = []
        if items is None:  # a sweep's points share their workloads: each is loaded once
            key = wl.model_dump_json()
            if key not in self.items:
                self.items[key] = load_items(wl)
            items = self.items[key]
        for it in items:
            output = wl.output_len or it.output_len or gen.max_new_tokens
            need = self.prompt_tokens(cfg, it, limit - output) + output
            if need > limit:
                too_long.append((it.id, need))
        if too_long:
            shown = ", ".join(f"{i} ({n})" for i, n in too_long[:_SHOWN])
            more = f" and {len(too_long) - _SHOWN} more" if len(too_long) > _SHOWN else ""
            raise InfermeterError(
                f"{where}{len(too_long)} of {len(items)} {wl.kind} prompts + their output tokens exceed the model's "
                f"context of {limit} tokens{at}: {shown}{more}; lower --max-new-tokens or --limit, or pick shorter "
                "items"
            )


def check_fit(cfg: RunConfig, command: str, items: list[WorkItem] | None = None, where: str = "") -> None:
    """Refuse ``cfg`` in one line when a prompt it would send cannot fit (see the module doc)."""
    FitChecker().check(cfg, command, items, where)


def check_points(cfgs: list[tuple[str, RunConfig]], command: str = "run") -> None:
    """Refuse a sweep in one line when any of its points (name, config) cannot fit; names the first."""
    checker, bad = FitChecker(), []
    for name, cfg in cfgs:
        try:
            checker.check(cfg, command)
        except InfermeterError as err:
            bad.append(f"point {name}: {err}")
    if bad:
        raise InfermeterError(f"{len(bad)} of {len(cfgs)} sweep points do not fit the context window; {bad[0]}")
