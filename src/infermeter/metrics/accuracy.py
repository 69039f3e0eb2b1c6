"""Accuracy scorers (seed 003 metric 6): functions of (output text, reference) -> score in [0, 1].

* ``numeric``: GSM8K style; the last number in the output equals the reference number.
* ``exact``: normalized output equals a reference; ``contains``: a normalized reference occurs in
  the normalized output. Normalization lowercases, drops punctuation and collapses whitespace.
A reference may be a list of acceptable answers (any match scores 1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Commas only as thousands separators ("1,2,3" is a list), a leading dot is a decimal (".5").
_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+(?![\d,])|\d+)(?:\.\d+)?|-?\.\d+")
_TOKEN = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)*|\w+")


def last_number(text: str) -> float | None:
    """The last number written in ``text`` (thousands separators allowed), or None."""
    matches = list(_NUMBER.finditer(text))
    if not matches:
        return None
    m = matches[-1]
    s = m.group()
    if s.startswith("-") and m.start() > 0 and text[m.start() - 1].isalnum():
        s = s[1:]  # "5-6" or "2023-10-05": a range or a date, not a negative number
    return float(s.replace(",", ""))


def normalize(text: str) -> str:
    """Lowercase words and numbers separated by single spaces; other punctuation dropped.

    Numbers keep their sign and decimal point ("-3" is not "3", "3.5" is not "35").
    """
    return " ".join(_TOKEN.findall(str(text).lower()))


def _refs(reference: Any) -> list[Any]:
    return list(reference) if isinstance(reference, (list, tuple)) else [reference]


def numeric(output: str, reference: Any) -> float:
    """1.0 when the output's last number equals a reference number."""
    got = last_number(output)
    if got is None:
        return 0.0
    for ref in _refs(reference):
        want = last_number(str(ref))
        if want is not None and abs(got - want) < 1e-6 * max(1.0, abs(want)):
            return 1.0
    return 0.0


def exact(output: str, reference: Any) -> float:
    """1.0 when the normalized output equals a normalized reference."""
    out = normalize(output)
    return float(any(out == normalize(ref) for ref in _refs(reference)))


def contains(output: str, reference: Any) -> float:
    """1.0 when a normalized reference occurs in the normalized output."""
    out = f" {normalize(output)} "
    return float(any(f" {normalize(ref)} " in out for ref in _refs(reference) if normalize(ref)))


SCORERS: dict[str, Callable[[str, Any], float]] = {
    "numeric": numeric,
    "exact": exact,
    "contains": contains,
}


def score(scorer: str, output: str, reference: Any) -> float | None:
    """Score one output; None when the item has no reference or no scorer."""
    if reference is None or scorer not in SCORERS:
        return None
    return SCORERS[scorer](output, reference)
