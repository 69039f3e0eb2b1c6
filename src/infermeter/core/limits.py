"""Bounds on inputs, checked before anything is built or sent.

A number that is valid but absurd (a batch of 10^8 prompts, 10^8 requests in flight, a billion
output tokens, a YAML file whose aliases expand to gigabytes) would otherwise spend minutes and
gigabytes before failing, or never fail. Each bound is far above any real measurement and fails
with one line that names the flag.
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

from infermeter.errors import InfermeterError

MAX_BATCH_SIZE = 4096  # prompts per generate() call
MAX_CONCURRENCY = 10_000  # requests in flight
MAX_RATE = 1_000_000.0  # requests per second
MAX_NEW_TOKENS = 1_048_576  # 1M output tokens: above every model's context today
MAX_PROMPT_LEN = 1_048_576
MAX_SWEEP_POINTS = 1000
MAX_ITEMS = 1_000_000  # dataset items / synthetic prompts built up front
MAX_YAML_BYTES = 1 << 20  # a config file is a few hundred bytes
MAX_YAML_ALIASES = 1000  # anchors/aliases reused more than this are a billion-laughs attack, not a config
MAX_YAML_NODES = 100_000  # values once aliases are expanded

_repr = reprlib.Repr()
_repr.maxstring, _repr.maxother, _repr.maxlist, _repr.maxdict, _repr.maxlevel = 60, 60, 6, 6, 3


def short_repr(value: Any) -> str:
    """A bounded ``repr`` (an expanded YAML alias tree must not be printed whole)."""
    return _repr.repr(value)


def check_count(value: int | None, flag: str, limit: int, low: int = 1) -> None:
    """``low <= value <= limit`` or one line naming ``flag``."""
    if value is not None and not (low <= value <= limit):
        raise InfermeterError(f"{flag} {value} is out of range: use {low}..{limit:,}")


def check_rate(value: float, flag: str) -> None:
    """A finite request rate in (0, MAX_RATE]."""
    if not math.isfinite(value) or not (0 < value <= MAX_RATE):
        raise InfermeterError(f"{flag}: the rate must be a finite number in (0, {MAX_RATE:,.0f}] requests/s")


def check_config(cfg: Any) -> None:
    """The bounds a RunConfig must respect (batch size, output and prompt lengths)."""
    check_count(cfg.workload.batch_size, "--batch-size", MAX_BATCH_SIZE)
    check_count(cfg.generation.max_new_tokens, "--max-new-tokens", MAX_NEW_TOKENS)
    check_count(cfg.workload.prompt_len, "--prompt-len", MAX_PROMPT_LEN)
    check_count(cfg.workload.limit, "--limit", MAX_ITEMS)
    for b in cfg.measure.batch_sizes or []:
        check_count(b, "--batch-sizes", MAX_BATCH_SIZE)
    for n in cfg.measure.prompt_lens or []:
        check_count(n, "--prompt-lens", MAX_PROMPT_LEN)
    if cfg.generation.do_sample and cfg.generation.temperature == 0:  # HF refuses it, after the model loads
        raise InfermeterError(
            "--do-sample with --temperature 0 is not sampling: drop --do-sample or raise the temperature"
        )


def check_yaml(text: str, where: str) -> None:
    """Refuse a YAML text that is too large or reuses aliases like a billion-laughs file."""
    import yaml

    if len(text) > MAX_YAML_BYTES:
        raise InfermeterError(f"{where}: {len(text):,} bytes is too large for a config (at most {MAX_YAML_BYTES:,})")
    try:
        aliases = sum(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=yaml.SafeLoader))
        size = _expanded_size(yaml.compose(text, Loader=yaml.SafeLoader)) if aliases else 0
    except yaml.YAMLError:
        return  # the loader reports the syntax error with its line
    if aliases > MAX_YAML_ALIASES or size > MAX_YAML_NODES:
        raise InfermeterError(
            f"{where}: {aliases} YAML aliases expanding to {size:,} values: refusing a file that expands like a "
            "billion-laughs attack"
        )


def _expanded_size(root: Any) -> int:
    """Values in the document once every alias is expanded (aliases share nodes: memoized by identity)."""
    import yaml

    memo: dict[int, int] = {}

    def size(node: Any) -> int:
        if id(node) in memo:
            return memo[id(node)]
        memo[id(node)] = 1  # a recursive alias counts once (PyYAML refuses it later)
        if isinstance(node, yaml.SequenceNode):
            n = 1 + sum(size(c) for c in node.value)
        elif isinstance(node, yaml.MappingNode):
            n = 1 + sum(size(k) + size(v) for k, v in node.value)
        else:
            n = 1
        memo[id(node)] = n
        return n

    return size(root) if root is not None else 0


# -- what a server may answer -------------------------------------------------------------------------
USAGE_SLACK = 4  # a server's count above 4x the client's retokenized count is not believed


def deadline_s(server: Any, max_new_tokens: int) -> float:
    """The overall deadline of one request: ``server.request_timeout_s``, else 60 s + 0.5 s per output token."""
    return server.request_timeout_s or 60.0 + 0.5 * max_new_tokens


def checked_usage(reported: Any, retokenized: int | None, chunks: int) -> tuple[int | None, str | None]:
    """The output token count to use and, when the server's ``usage`` was not believed, why.

    A count that is not a non-negative integer, or more than 4x what the client counts in the text
    (plus a chunk's worth of slack), is replaced by the client's count: a hostile or broken server
    must not turn 8 tokens into billions of tokens/s.
    """
    if reported is None:
        return None, None
    if not isinstance(reported, int) or isinstance(reported, bool) or reported < 0:
        return retokenized, f"usage.completion_tokens {short_repr(reported)} is not a count"
    ceiling = USAGE_SLACK * max(retokenized or 0, chunks) + 8
    if reported > ceiling:
        return retokenized, f"usage.completion_tokens {reported} is more than {USAGE_SLACK}x the text's {retokenized}"
    return reported, None


def non_stream_reason(blobs: list[bytes]) -> str | None:
    """Why a 200 answer that never finished a stream was wrong, when it was not a stream at all."""
    head = b"".join(blobs[:4])[:512].lstrip()
    if head.startswith(b"{"):
        return "the server answered one JSON body, not an event stream (does it support stream=true?)"
    if head[:15].lower().startswith((b"<!doctype", b"<html")):
        return "the server answered an HTML page, not an event stream"
    return None


def port(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free port) to 65535."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port: use 0..65535 (0: any free port)")
    return value
