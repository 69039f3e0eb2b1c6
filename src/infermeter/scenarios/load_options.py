"""The conventions of ``vllm bench serve`` and GuideLLM, turned into ``load``'s own options.

Pure parsing and scheduling helpers: arrival offsets (Poisson, gamma with a burstiness, linear or
exponential ramp-up, trace replay), percentiles, ``--metadata``, the measured-window shares taken
of the requests actually sent, and the served model's name for the run.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from infermeter.backends.openai import OpenAIClient
from infermeter.config import DEFAULT_MODEL
from infermeter.errors import InfermeterError

if TYPE_CHECKING:
    from infermeter.core.records import RequestRecord
    from infermeter.scenarios.load_profiles import LoadOptions, Profile

DEFAULT_PERCENTILES = (50.0, 90.0, 95.0, 99.0)
RAMP_SHAPES = ("linear", "exponential")


def parse_percentiles(text: str | None) -> tuple[float, ...]:
    """``"50,90,95,99,99.9"`` -> floats in (0, 100]; p50/p90/p95/p99 are always kept."""
    if not text:
        return DEFAULT_PERCENTILES
    out = set(DEFAULT_PERCENTILES)
    for part in filter(None, (p.strip().lstrip("pP") for p in text.split(","))):
        try:
            v = float(part)
        except ValueError:
            v = -1.0
        if not 0 < v <= 100:
            raise InfermeterError(f"--percentiles: {part!r} is not a percentile in (0, 100], e.g. 50,90,99,99.9")
        out.add(v)
    return tuple(sorted(out))


def pct_key(p: float) -> str:
    """``99.9`` -> ``p99.9``, ``95.0`` -> ``p95`` (the name a percentile has in reports)."""
    return f"p{p:g}"


def percentiles_of(values: Sequence[float], pcts: Sequence[float]) -> dict[str, float]:
    """The chosen percentiles of a sample (linear interpolation, as numpy and vLLM)."""
    if not len(values):
        return {}
    got = np.percentile(np.asarray(values, dtype=float), list(pcts))
    return {pct_key(p): float(v) for p, v in zip(pcts, got, strict=False)}


def parse_metadata(items: Sequence[str]) -> dict[str, str]:
    """``["gpu=H200", "tp=2"]`` -> dict (stored in the report and the results database)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InfermeterError(f"--metadata expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def request_rate_profile(rate: str, cap: int | None, num_prompts: int | None) -> str:
    """vLLM's ``--request-rate``: a number is Poisson arrivals at that rate; ``inf`` sends all at once."""
    if rate.strip().lower() in ("inf", "infinity"):
        return f"concurrent:{cap or num_prompts or 64}"
    try:
        value = float(rate)
    except ValueError:
        value = -1.0
    if not value > 0 or math.isinf(value):
        raise InfermeterError(f"--request-rate {rate!r}: use requests per second (> 0) or inf")
    return f"poisson:{value:g}"


def ramp_profile(shape: str, start: float | None, end: float | None) -> str:
    """vLLM's ``--ramp-up-strategy S --ramp-up-start-rps A --ramp-up-end-rps B`` as ``ramp:S:A:B``."""
    if shape not in RAMP_SHAPES:
        raise InfermeterError(f"--ramp-up-strategy {shape!r}: use linear or exponential")
    if start is None or end is None:
        raise InfermeterError("--ramp-up-strategy needs --ramp-up-start-rps and --ramp-up-end-rps")
    if start <= 0 or end <= 0:
        raise InfermeterError("--ramp-up-start-rps and --ramp-up-end-rps must be > 0 (requests per second)")
    return f"ramp:{shape}:{start:g}:{end:g}"


def check_burstiness(value: float) -> float:
    """Gamma arrivals need a positive shape: 1 is Poisson, < 1 burstier, > 1 more even."""
    if not value > 0 or math.isinf(value):
        raise InfermeterError(
            f"--burstiness {value:g}: use a number > 0 (1 = Poisson, below 1 burstier, above 1 more even)"
        )
    return value


# -- arrival schedules ---------------------------------------------------------------------------------
def gaps_for(kind: str, rate: float, n: int, seed: int, burstiness: float = 1.0) -> np.ndarray:
    """``n`` gaps (seconds) between arrivals at ``rate``: even (constant) or gamma (Poisson when burstiness 1)."""
    if kind == "constant":
        return np.full(n, 1.0 / rate)
    if burstiness == 1.0:  # the exact stream earlier versions drew, so seeded schedules stay put
        return np.random.default_rng([seed, 7]).exponential(1.0 / rate, size=n)
    return np.random.default_rng([seed, 7]).gamma(burstiness, 1.0 / (rate * burstiness), size=n)


def ramp_offsets(shape: str, start: float, end: float, n: int) -> np.ndarray:
    """Send offsets whose rate moves from ``start`` to ``end`` over ``n`` requests (vLLM's ramp-up)."""
    progress = np.arange(n) / max(n - 1, 1)
    rates = start + (end - start) * progress if shape == "linear" else start * (end / start) ** progress
    return np.concatenate([[0.0], np.cumsum(1.0 / rates[:-1])]) if n else np.zeros(0)


def trace_offsets(prompts: Sequence[Any], speed: float, n: int) -> np.ndarray:
    """The first ``n`` trace timestamps (seconds from the first), divided by ``speed``."""
    at = np.array([p.extra.get("at_s", 0.0) for p in prompts[:n]], dtype=float)
    return (at - at[0]) / speed if len(at) else at


def offsets(profile: Profile, opts: LoadOptions, point: int, prompts: Sequence[Any]) -> np.ndarray:
    """Send offsets of a rate-driven profile point, computed before the first request is sent."""
    if profile.kind == "trace":
        n = min(len(prompts), opts.max_requests or len(prompts))
        return trace_offsets(prompts, profile.value or 1.0, n)
    if profile.kind == "ramp":
        n = opts.max_requests or 4096
        return ramp_offsets(profile.shape or "linear", profile.start or 1.0, profile.value or 1.0, n)
    rate = profile.rate or 1.0
    n = opts.max_requests or int((opts.duration_s or 0) * rate * 1.5 + 16)
    gaps = gaps_for(profile.kind, rate, n, opts.seed + point, opts.burstiness)
    return np.concatenate([[0.0], np.cumsum(gaps[:-1])])


# -- the measured window ---------------------------------------------------------------------------------
def window_phases(records: list[RequestRecord], opts: LoadOptions) -> list[RequestRecord]:
    """Records with warm-up/cool-down shares (``10%``) taken of the requests the point actually sent.

    A share of a limit that was never reached (the duration ended first, errors stopped the run)
    would put the whole run in the warm-up. Spans in seconds keep the phase given at send time.
    """
    w, wu = parse_span(opts.warmup, "warmup")
    c, cu = parse_span(opts.cooldown, "cooldown")
    if "fraction" not in (wu, cu) or not records:
        return records
    n = len(records)
    out = []
    for r in records:
        k = int(r.extra.get("k", r.batch_id or 0))
        warm = k < int(w * n) if wu == "fraction" else r.phase.startswith("warmup")
        cool = k >= n - int(c * n) if cu == "fraction" else r.phase.startswith("cooldown")
        phase = "warmup:load" if warm else "cooldown:load" if cool else "load"
        out.append(r if phase == r.phase else dataclasses.replace(r, phase=phase))
    return out


def window_all(records: list[RequestRecord], opts: LoadOptions) -> list[RequestRecord]:
    """:func:`window_phases` applied to each profile point's records (a run's records, any order kept)."""
    by_point: dict[int, list[int]] = {}
    for i, r in enumerate(records):
        by_point.setdefault(int(r.extra.get("point", 0)), []).append(i)
    out = list(records)
    for idx in by_point.values():
        for i, r in zip(idx, window_phases([records[i] for i in idx], opts), strict=True):
            out[i] = r
    return out


# -- the served model names the run ----------------------------------------------------------------------
def name_after_served(cfg: Any) -> None:
    """Name the run (``model.name``) after the served model unless a local model was asked for.

    Asks ``/v1/models`` when ``server.served_model`` is not given; an unreachable server is the
    one-line error the load itself would give.
    """
    import asyncio

    s = cfg.server
    if cfg.model.name != DEFAULT_MODEL and s.tokenizer == "auto":
        return  # --model names a local model: it names the run and counts the tokens
    served = s.served_model
    if not served:

        async def ask() -> list[str]:
            probe = OpenAIClient(s, model="")
            await probe.open()
            try:
                return await probe.models()
            finally:
                await probe.close()

        models = asyncio.run(ask())
        served = models[0] if models else None
    if served:
        cfg.model.name = served
        if s.tokenizer == "auto":  # a server started from a local folder lists its path: count with it
            folder = Path(os.path.expanduser(served))
            s.tokenizer = served if (folder / "tokenizer.json").is_file() else "qwen"


def parse_span(text: str | None, what: str) -> tuple[float, str]:
    """``"10%"`` -> (0.1, "fraction"), ``"5s"`` -> (5.0, "seconds"), None/"0" -> (0, "fraction")."""
    if not text or text.strip() in ("0", "0%", "0s"):
        return 0.0, "fraction"
    t = text.strip()
    try:
        if t.endswith("%"):
            v = float(t[:-1]) / 100
            if 0 <= v < 1:
                return v, "fraction"
        elif t.endswith("s") and float(t[:-1]) >= 0:
            return float(t[:-1]), "seconds"
    except ValueError:
        pass
    raise InfermeterError(f"--{what} {text!r}: use a share of the run (10%) or seconds (5s)")
