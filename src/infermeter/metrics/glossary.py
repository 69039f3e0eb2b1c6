"""What every metric name on the console means, in plain words: ``infermeter explain TERM``.

Each entry has the newcomer's name (what tables show first), the precise name (what reports and
docs/metrics.md call it), the unit, whether higher is better, and a definition a person who has
never benchmarked inference can follow. Tables link to docs/metrics.md, which has the same list.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

DOCS = "docs/metrics.md"


@dataclass(frozen=True)
class Term:
    """One glossary entry."""

    key: str  # report key, e.g. "tpot_s"
    plain: str  # the name a newcomer understands
    precise: str  # the name in reports and docs/metrics.md
    unit: str
    better: str  # "higher", "lower" or "" (neither)
    meaning: str
    aliases: tuple[str, ...] = ()


TERMS: tuple[Term, ...] = (
    Term(
        "decode_tps",
        "decode speed",
        "decode TPS",
        "tok/s",
        "higher",
        "tokens generated per second after the first token, summed over the requests of one "
        "generate() call (prefill excluded); at batch 1 this is what one user sees",
        ("decode tok/s", "output speed", "tps"),
    ),
    Term(
        "stream_tps",
        "decode speed per request",
        "per-stream speed",
        "tok/s",
        "higher",
        "the decode speed one request sees inside a batch: its tokens after the first divided by "
        "the time they took (about 1 / TPOT); equals decode TPS at batch 1",
        ("per stream", "per-stream speed"),
    ),
    Term(
        "output_throughput",
        "tokens per second overall",
        "output throughput",
        "tok/s",
        "higher",
        "all output tokens divided by the wall time of the whole measured window, prefill and gaps "
        "between calls included: the serving number. It counts every token, the first included, "
        "while decode TPS leaves each request's first token (and prefill) out: with short outputs "
        "and a fast prefill it can read above decode TPS, with a slow prefill below it",
        ("throughput", "output tok/s"),
    ),
    Term(
        "ttft_s",
        "wait for the first token",
        "TTFT (time to first token)",
        "s",
        "lower",
        "time from sending a request to its first output token: queueing plus prefill (reading the prompt)",
        ("ttft", "time to first token"),
    ),
    Term(
        "tpot_s",
        "time between tokens",
        "TPOT (time per output token)",
        "s",
        "lower",
        "per request, (time of last token - time of first token) / (tokens - 1): the average gap "
        "a reader waits between words",
        ("tpot", "time per output token"),
    ),
    Term(
        "itl_s",
        "every gap between tokens",
        "ITL (inter-token latency, pooled gaps)",
        "s",
        "lower",
        "every single gap between consecutive tokens, of all requests, pooled into one "
        "distribution; its mean equals TPOT's, its p99 shows the stalls",
        ("itl", "itl (pooled gaps)", "inter-token latency"),
    ),
    Term(
        "e2e_s",
        "time for the whole answer",
        "E2E latency (end to end)",
        "s",
        "lower",
        "time from sending a request to its last output token",
        ("e2e", "e2e latency", "latency"),
    ),
    Term(
        "context_load",
        "prompt reading time",
        "context load time (TTFT vs prompt length)",
        "s",
        "lower",
        "TTFT at batch 1 for prompts of each length in --prompt-lens: how the wait grows with the prompt",
        ("context load", "prefill"),
    ),
    Term(
        "peak_memory",
        "peak memory",
        "peak memory (RSS / torch allocated / reserved / NVML)",
        "bytes",
        "lower",
        "the most memory the measured work held at once: process RSS everywhere; on CUDA torch's "
        "allocated and reserved bytes and NVML's per-process figure",
        ("memory", "rss", "peak"),
    ),
    Term(
        "batch_efficiency",
        "batching gain",
        "batch efficiency",
        "%",
        "higher",
        "throughput at batch b divided by b times the throughput at batch 1: 100% means b requests "
        "together run as fast each as one alone. 'b2: 9.2 tok/s (58%)' is 9.2 tok/s at batch 2, "
        "58% of perfect scaling",
        ("efficiency", "batch"),
    ),
    Term(
        "knee",
        "where batching stops paying",
        "knee (Kneedle on log2 batch size)",
        "",
        "",
        "the batch size after which throughput grows much more slowly; 'no knee' means the curve "
        "has no clear bend (it keeps rising or falling evenly), whatever the efficiency",
        ("no knee",),
    ),
    Term(
        "accuracy",
        "share of answers right",
        "accuracy (Wilson 95% CI)",
        "%",
        "higher",
        "scored items answered correctly by the dataset's scorer (GSM8K: the last number equals "
        "the reference). Tiny models such as SmolLM2-135M score near 0% on GSM8K: expected, not "
        "a failure",
        ("score",),
    ),
    Term(
        "first_call",
        "first call vs later calls",
        "first call / steady",
        "s",
        "lower",
        "the very first generate() of a fresh process against the typical later call: the "
        "difference is one-time cost (compilation, lazy initialization), kept out of every "
        "other number",
        ("first call / steady", "first call", "steady", "warm-up overhead"),
    ),
    Term(
        "load_s",
        "model load time",
        "model load",
        "s",
        "lower",
        "time to build or read the model and place it on the device",
        ("model load", "load"),
    ),
    Term(
        "s_per_sample",
        "seconds per question",
        "time per sample (s/sample)",
        "s",
        "lower",
        "wall time of the dataset pass divided by the items answered",
        ("s/sample", "time per sample"),
    ),
    Term(
        "time_per_token",
        "seconds per output token",
        "time per token",
        "s",
        "lower",
        "wall time of the dataset pass divided by all output tokens (the inverse of a TPS)",
        ("s/token",),
    ),
    Term(
        "total_tokens",
        "tokens produced",
        "total tokens",
        "tokens",
        "",
        "output tokens of all requests in the pass",
        ("tokens",),
    ),
    Term(
        "goodput",
        "requests that met the targets",
        "goodput (SLO-met requests/s)",
        "req/s",
        "higher",
        "requests per second that succeeded and met every --slo target, and their share",
        (),
    ),
    Term(
        "achieved_rate",
        "requests sent per second",
        "achieved rate",
        "req/s",
        "higher",
        "the rate the client actually sent at, against the profile's target rate",
        ("achieved",),
    ),
    Term(
        "ci",
        "uncertainty range",
        "95% confidence interval",
        "",
        "",
        "the range that holds the true mean with 95% confidence given the samples; '!' after a "
        "number means its stdev is above 10% of its mean (a noisy machine)",
        ("95% ci", "!"),
    ),
    Term(
        "percentiles",
        "typical and worst cases",
        "p50 / p90 / p99",
        "",
        "",
        "the values below which 50%, 90% and 99% of the samples fall",
        ("p50", "p90", "p99"),
    ),
    Term(
        "ratio",
        "how many times better",
        "ratio (variant / baseline)",
        "x",
        "",
        "in compare: the variant's value divided by the baseline's, a geometric mean over paired "
        "rounds; each row says whether higher is better for that metric",
        ("speedup", "x"),
    ),
    Term(
        "stable",
        "no creep over calls",
        "stable (soak trend)",
        "",
        "",
        "in soak: no series rises over the calls (Mann-Kendall p < 0.01 and a slope of at least "
        "0.1% of the level per call) and no step up of 5% or more",
        ("trend",),
    ),
    Term(
        "pareto",
        "best trade-offs",
        "Pareto front",
        "",
        "",
        "in sweep: the points that no other point beats on both axes at once",
        ("pareto front",),
    ),
    Term(
        "spread_ratio",
        "spread / within CI",
        "between-process spread ratio",
        "",
        "",
        "in run --processes N: the stdev of the processes' means divided by the mean half-width of each "
        "process's own 95% CI; above 1, fresh processes differ by more than one process's CI admits, so "
        "read the CI over processes",
        ("between processes", "spread / within", "within CIs holding other processes' means"),
    ),
    Term(
        "effect_ci",
        "not distinguishable",
        "effect CI over replicates",
        "",
        "",
        "in sweep --replicates N: the 95% CI (Welch, over replicates) of a knob value's change from its "
        "baseline; when it holds no change the effect is smaller than its CI, and a point dominated on "
        "the means without a CI that confirms it is 'dominated, not significantly'",
        ("effect ci", "dominated, not significantly", "replicates"),
    ),
)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9/!%]+", " ", text.lower()).strip()


def find(term: str) -> Term | None:
    """The entry whose key, names or aliases match ``term`` (case and punctuation ignored)."""
    want = _norm(term)
    for t in TERMS:
        names = (t.key, t.plain, t.precise, *t.aliases)
        if want in {_norm(n) for n in names} or want == _norm(t.key.removesuffix("_s")):
            return t
    return None


def explain(term: str) -> str:
    """A few lines on ``term``; unknown terms get the list of known ones."""
    t = find(term)
    if t is None:
        known = ", ".join(x.key for x in TERMS)
        return f"unknown term {term!r}; known: {known}"
    better = {"higher": "higher is better", "lower": "lower is better"}.get(t.better, "")
    head = f"{t.plain} ({t.precise})" + (f", {t.unit}" if t.unit else "") + (f", {better}" if better else "")
    body = textwrap.fill(t.meaning + ".", 78, initial_indent="  ", subsequent_indent="  ")
    return f"{head}\n{body}\n  definitions: {DOCS}"


def label(key: str) -> str:
    """'plain name (precise name)' for a table row, or the key itself when it has no entry."""
    t = find(key)
    return f"{t.plain} ({t.precise.split(' (')[0]})" if t else key


def footer() -> str:
    """The line under every console table: where the definitions are."""
    return f"what the names mean: infermeter explain TERM, or {DOCS}"
