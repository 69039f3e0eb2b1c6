"""infermeter's built-in metrics, registered in :mod:`infermeter.metrics.registry`.

Definitions are in docs/metrics.md; the functions are in ``latency``/``throughput``. Keys are the
names reports, the results database and ``diff`` use. Metrics with a dedicated console row or table
are marked ``builtin``; anything registered elsewhere without that flag gets a generic row.
"""

from __future__ import annotations

from infermeter.core.records import RequestRecord
from infermeter.metrics.latency import e2e, itl, tpot, ttft, values
from infermeter.metrics.registry import (
    BATCH,
    FACT,
    HIGHER,
    LOWER,
    NEUTRAL,
    PROCESS,
    REQUEST,
    WINDOW,
    Metric,
    Samples,
    register,
)
from infermeter.metrics.throughput import batch_decode_tps


def _ttft(records: list[RequestRecord]) -> list[float]:
    return values(ttft, records)


def _tpot(records: list[RequestRecord]) -> list[float]:
    return values(tpot, records)


def _itl(records: list[RequestRecord]) -> list[float]:
    return itl([r for r in records if r.ok])


def _e2e(records: list[RequestRecord]) -> list[float]:
    return values(e2e, records)


def _m(
    key: str,
    label: str,
    unit: str,
    better: str = NEUTRAL,
    unit_of_analysis: str = REQUEST,
    precise: str = "",
    *,
    doc: str = "",
    samples: Samples | None = None,
) -> Metric:
    return register(Metric(key, label, unit, better, unit_of_analysis, precise, doc, samples, builtin=True))


# Per-request latencies and the decode rate: functions of records.
_m(
    "decode_tps",
    "decode speed",
    "tok/s",
    HIGHER,
    BATCH,
    "decode TPS",
    samples=batch_decode_tps,
    doc="tokens after the first / time from first to last token, per generate() batch (prefill excluded)",
)
_m(
    "ttft_s",
    "time to first token",
    "s",
    LOWER,
    REQUEST,
    "TTFT",
    samples=_ttft,
    doc="t_first_token - t_send, per request",
)
_m(
    "tpot_s",
    "time per output token",
    "s",
    LOWER,
    REQUEST,
    "TPOT",
    samples=_tpot,
    doc="(t_last - t_first) / (tokens - 1), per request",
)
_m(
    "itl_s",
    "time between tokens",
    "s",
    LOWER,
    REQUEST,
    "ITL",
    samples=_itl,
    doc="every gap between consecutive tokens, pooled over requests",
)
_m("e2e_s", "end-to-end latency", "s", LOWER, REQUEST, "E2E", samples=_e2e, doc="t_last_token - t_send, per request")
# Window rates and run-level numbers.
_m(
    "output_throughput",
    "output throughput",
    "tok/s",
    HIGHER,
    WINDOW,
    "output TPS",
    doc="output tokens / wall time of the measured window (prefill included)",
)
_m(
    "stream_tps",
    "decode speed per request",
    "tok/s",
    HIGHER,
    REQUEST,
    "stream TPS",
    doc="each request's own tokens / its own decode time, averaged",
)
_m("throughput", "throughput", "tok/s", HIGHER, BATCH, doc="output tokens per second of one batch")
_m("prefill_tps", "prefill speed", "tok/s", HIGHER, BATCH, doc="prompt tokens / TTFT")
_m("efficiency", "batch efficiency", "", HIGHER, BATCH, doc="throughput(b) / (b x throughput(1))")
_m(
    "batch_efficiency",
    "batch efficiency (largest batch)",
    "",
    HIGHER,
    BATCH,
    doc="throughput(b) / (b x throughput(1)) at the largest batch",
)
_m("accuracy", "accuracy", "fraction", HIGHER, REQUEST, doc="mean task score over scored items")
_m(
    "context_ttft_s",
    "context load (TTFT at the longest prompt)",
    "s",
    LOWER,
    BATCH,
    doc="time to first token at the longest prompt of the context-load curve",
)
# Memory: one value per process.
for _key, _label in (("rss", "peak RSS"), ("torch_allocated", "peak torch allocated"),
                     ("torch_reserved", "peak torch reserved"), ("nvml_process", "peak NVML process memory"),
                     ("activations_kv_bytes", "activations and KV cache"),
                     ("peak_memory_bytes", "peak memory (main pass)")):  # fmt: skip
    _m(_key, _label, "bytes", LOWER, PROCESS, doc="peak over the measured windows of one worker process")
_m("weights_bytes", "model weights", "bytes", NEUTRAL, FACT, doc="bytes of the loaded parameters")
# Start-up costs: one value per process.
_m("load_s", "model load time", "s", LOWER, PROCESS, doc="from process start of loading to a ready model")
_m("first_call_s", "first call", "s", LOWER, PROCESS, doc="the first call of a fresh model (compile, caches)")
_m("steady_call_s", "steady call", "s", LOWER, PROCESS, doc="a call after warm-up")
_m("first_call_overhead_s", "warm-up overhead", "s", NEUTRAL, PROCESS, doc="first call - steady call")
_m("first_measured_e2e_s", "first measured call", "s", LOWER, PROCESS, doc="E2E of the first call after warm-up")
# Sweep's per-point table (the deployment view: time per sample and per token).
_m("per_sample_s", "time per sample", "s", LOWER, WINDOW, doc="measured window / requests")
_m("time_per_token_s", "time per output token (window)", "s", LOWER, WINDOW, doc="1 / output throughput")
_m("output_tokens", "total output tokens", "tok", NEUTRAL, FACT, doc="tokens generated in the main pass")
# Soak.
_m("steady_e2e_s", "steady E2E", "s", LOWER, REQUEST, doc="median E2E of the calls after warm-up")
_m("steady_e2e_per_item_s", "steady E2E per item", "s", LOWER, REQUEST, doc="steady E2E / batch size")
# Images.
_m("preprocess_s", "image preprocessing", "s", LOWER, REQUEST, doc="decode + processor time, before t_send")
_m("tokens_per_prompt", "image tokens per prompt", "tokens", NEUTRAL, FACT, doc="image tokens the processor made")
# Serving (load).
_m("request_rate", "target request rate", "req/s", NEUTRAL, FACT, doc="the rate the profile asked for")
_m("achieved_rate", "achieved request rate", "req/s", HIGHER, WINDOW, doc="requests sent / window")
_m("goodput.requests_per_s", "goodput", "req/s", HIGHER, WINDOW, doc="requests meeting every SLO per second")
_m("goodput.fraction", "share meeting the SLO", "fraction", HIGHER, WINDOW, doc="requests meeting every SLO / all")
_m("errors", "failed requests", "", LOWER, WINDOW, doc="requests that ended in an error")
# Speed of light (roofline against the calibrated ceilings) and energy.
_m(
    "mbu",
    "share of the memory-bandwidth limit",
    "fraction",
    HIGHER,
    BATCH,
    "MBU",
    doc="bytes per decode step x decode steps per second / calibrated copy bandwidth",
)
_m(
    "mfu",
    "share of the compute limit",
    "fraction",
    HIGHER,
    BATCH,
    "MFU",
    doc="prefill FLOPs / TTFT / calibrated matmul peak of the run's dtype",
)
_m("decode_bandwidth", "achieved decode bandwidth", "B/s", HIGHER, BATCH, doc="bytes per decode step x steps/s")
_m("tokens_per_j", "output tokens per joule", "tok/J", HIGHER, WINDOW, doc="output tokens / energy of the window")
_m("j_per_token", "energy per output token", "J", LOWER, WINDOW, doc="energy of the window / its output tokens")
_m("j_per_request", "energy per request", "J", LOWER, WINDOW, doc="energy of the window / its requests")
_m("avg_w", "average power", "W", NEUTRAL, WINDOW, doc="energy / window seconds")
_m("peak_w", "peak power", "W", NEUTRAL, WINDOW, doc="highest sampled power reading")
