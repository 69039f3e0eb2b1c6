"""A client-side tokenizer on ``tokenizers`` alone: no torch, no transformers.

``infermeter load`` only counts and draws tokens on the client; importing transformers (and through
it torch) costs 10-20 s before the first request. :class:`LightTokenizer` wraps a
``tokenizers.Tokenizer`` with the few methods the HTTP client uses (call, decode, chat template,
special ids, length) and renders chat templates with jinja2, as transformers does.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.models.tokenizer import _ADDED_TOKENS, CHAT_TEMPLATE, _tokenizer_json


class LightTokenizer:
    """The subset of a transformers fast tokenizer that the HTTP client needs."""

    def __init__(self, tok: Any, chat_template: str | None = None, special: set[str] | None = None) -> None:
        self.backend_tokenizer = tok
        self.chat_template = chat_template
        added = tok.get_added_tokens_decoder()  # id -> AddedToken
        self.added_tokens_decoder = {i: t.content for i, t in added.items()}
        names = special if special is not None else {t.content for t in added.values() if t.special}
        self.all_special_ids = sorted(i for i, t in added.items() if t.content in names)
        self._template: Any = None

    def __len__(self) -> int:
        return self.backend_tokenizer.get_vocab_size(with_added_tokens=True)

    def __call__(self, text: str | list[str], add_special_tokens: bool = False) -> dict[str, Any]:
        tok = self.backend_tokenizer
        if isinstance(text, str):
            return {"input_ids": tok.encode(text, add_special_tokens=add_special_tokens).ids}
        return {"input_ids": [e.ids for e in tok.encode_batch_fast(text, add_special_tokens=add_special_tokens)]}

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        """Token ids back to text."""
        return self.backend_tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)

    def apply_chat_template(
        self, messages: list[dict[str, Any]], add_generation_prompt: bool = True, tokenize: bool = True
    ) -> Any:
        """The chat template rendered (jinja2 sandbox, like transformers), as ids or text."""
        if not self.chat_template:
            raise InfermeterError("this tokenizer has no chat template")
        if self._template is None:
            from jinja2.sandbox import ImmutableSandboxedEnvironment

            def raise_exception(message: str) -> None:
                raise InfermeterError(f"chat template: {message}")

            env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
            env.globals["raise_exception"] = raise_exception
            self._template = env.from_string(self.chat_template)
        text = self._template.render(messages=messages, add_generation_prompt=add_generation_prompt)
        return self.backend_tokenizer.encode(text, add_special_tokens=False).ids if tokenize else text


_QWEN: list[LightTokenizer] = []
_QWEN_LOCK = threading.Lock()


def light_qwen() -> LightTokenizer:
    """Qwen2/Qwen3's tokenizer (the offline build of :mod:`infermeter.models.tokenizer`), without transformers.

    One shared instance; a build already under way (:func:`prefetch_qwen`) is waited for, not repeated.
    """
    with _QWEN_LOCK:
        if not _QWEN:
            from tokenizers import Tokenizer

            special = {t for t, is_special in _ADDED_TOKENS if is_special}
            _QWEN.append(LightTokenizer(Tokenizer.from_file(str(_tokenizer_json())), CHAT_TEMPLATE, special))
        return _QWEN[0]


def prefetch_qwen() -> None:
    """Start reading the Qwen tokenizer on a thread: its 18 MB JSON parses in Rust without the GIL, while
    the command imports its modules and asks the server for its models."""
    threading.Thread(target=light_qwen, name="infermeter-tokenizer", daemon=True).start()


def light_folder(path: Path) -> LightTokenizer | None:
    """A HF tokenizer folder's ``tokenizer.json`` (+ its chat template), or None when it has none."""
    from tokenizers import Tokenizer

    tj = path / "tokenizer.json"
    if not tj.is_file():
        return None
    try:
        tok = Tokenizer.from_file(str(tj))
    except Exception as err:  # noqa: BLE001 - the Rust loader raises plain Exceptions
        raise InfermeterError(f"cannot read {tj}: {str(err)[:120]}") from None
    template = None
    cfg_file, jinja_file = path / "tokenizer_config.json", path / "chat_template.jinja"
    if jinja_file.is_file():
        template = jinja_file.read_text(encoding="utf-8")
    elif cfg_file.is_file():
        try:
            t = json.loads(cfg_file.read_text(encoding="utf-8")).get("chat_template")
        except (ValueError, OSError):
            t = None
        template = t if isinstance(t, str) else None
    return LightTokenizer(tok, template)
