"""Goodput: the requests (and their tokens) that met every latency SLO, per second of the window.

A request is good when it succeeded and each SLO it is judged on holds: ``ttft`` (time to first
token), ``tpot`` (time per output token after the first; a one-token answer has none and passes),
``e2e`` (send to last token). Failed requests are never good. SLOs are written
``ttft=200ms,tpot=50ms,e2e=2s`` (units us, ms, s; a bare number is milliseconds, as in vLLM's
``--goodput ttft:200``, whose ``NAME:VALUE`` form and ``e2el`` name are accepted too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from infermeter.core.records import RequestRecord
from infermeter.errors import InfermeterError
from infermeter.metrics.latency import e2e, tpot, ttft

SLO_METRICS = {"ttft": ttft, "tpot": tpot, "e2e": e2e}
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "": 1e-3}  # bare numbers are milliseconds (vLLM's --goodput)
_ALIASES = {"e2el": "e2e"}  # vLLM's name for end-to-end latency


def parse_slo(text: str, flag: str = "--slo") -> dict[str, float]:
    """``"ttft=200ms,tpot=50"`` or ``"ttft:200 tpot:50"`` -> ``{"ttft": 0.2, "tpot": 0.05}`` (seconds)."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in re.split(r"[,\s]+", text))):
        m_sep = re.search(r"[=:]", part)
        name, sep, value = (part[: m_sep.start()], m_sep.group(), part[m_sep.end() :]) if m_sep else (part, "", "")
        name = _ALIASES.get(name.strip(), name.strip())
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(us|ms|s)?\s*", value)
        if not sep or name not in SLO_METRICS or not m:
            raise InfermeterError(
                f"{flag}: cannot read {part!r}: use NAME=VALUE or NAME:VALUE with NAME in {', '.join(SLO_METRICS)} "
                "and VALUE in milliseconds (200), or with a unit (200ms, 0.2s, 500us)"
            )
        out[name] = float(m.group(1)) * _UNITS[m.group(2) or ""]
    return out


def meets(r: RequestRecord, slo: dict[str, float]) -> bool:
    """True when the request succeeded and every SLO holds."""
    if not r.ok:
        return False
    for name, limit in slo.items():
        v = SLO_METRICS[name](r)
        if v is not None and v > limit:
            return False
    return True


def goodput(records: Iterable[RequestRecord], slo: dict[str, float], window_s: float | None) -> dict[str, Any]:
    """Good requests, their share of all requests, and good requests / output tokens per second."""
    recs = list(records)
    good = [r for r in recs if meets(r, slo)]
    rate = len(good) / window_s if window_s else None
    tokens = sum(r.output_tokens for r in good)
    return {
        "slo_s": dict(slo),
        "good": len(good),
        "total": len(recs),
        "fraction": len(good) / len(recs) if recs else None,
        "requests_per_s": rate,
        "output_tokens_per_s": tokens / window_s if window_s else None,
    }
