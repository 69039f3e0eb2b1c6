"""The server's own view during a load test: its Prometheus ``/metrics``, scraped once a second.

A client sees latencies; only the server knows why: how full its KV cache is, how many requests it
runs and how many wait, how often a prompt prefix was already cached, how many requests it preempted.
vLLM exposes these under ``vllm:*``, llama.cpp's server under ``llamacpp:*`` (with ``--metrics``),
and ``infermeter serve-null`` under vLLM's names (so tests have a deterministic source).

Scraping stays off the measured path: a separate HTTP session (one connection) fetches the text and
keeps the raw bytes with the time they arrived; parsing happens after the run. A server that answers
``/metrics`` with anything but Prometheus text, or not at all, is reported as "exposes none" and the
load test goes on: the metrics are optional, the client's records never depend on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

INTERVAL_S = 1.0
MAX_SERIES = 3600  # samples kept in the report (one hour at 1/s); the JSONL file has them all

# What the report shows, and the names servers use for it (first found wins). Counters end in _total.
KNOWN: dict[str, tuple[str, ...]] = {
    "kv_cache_usage": ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "vllm:cpu_cache_usage_perc",
                       "llamacpp:kv_cache_usage_ratio"),
    "running": ("vllm:num_requests_running", "llamacpp:requests_processing"),
    "waiting": ("vllm:num_requests_waiting", "llamacpp:requests_deferred"),
    "preemptions_total": ("vllm:num_preemptions_total", "vllm:num_preemptions"),
    "prefix_cache_queries_total": ("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"),
    "prefix_cache_hits_total": ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
    "prefix_cache_hit_rate": ("vllm:gpu_prefix_cache_hit_rate", "vllm:cpu_prefix_cache_hit_rate"),
    "prompt_tokens_total": ("vllm:prompt_tokens_total", "llamacpp:prompt_tokens_total"),
    "generation_tokens_total": ("vllm:generation_tokens_total", "llamacpp:tokens_predicted_total"),
}  # fmt: skip
GAUGES = ("kv_cache_usage", "running", "waiting")

_LINE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)")


def metrics_url(base_url: str, spec: str) -> str | None:
    """Where to scrape: ``auto`` = the server's root + ``/metrics``, ``off`` = nowhere, else the URL given."""
    if spec == "off":
        return None
    if spec != "auto":
        return spec
    root = base_url.rstrip("/")
    root = root[: -len("/v1")] if root.endswith("/v1") else root
    return root + "/metrics"


def parse_prometheus(text: str) -> dict[str, float]:
    """Prometheus text exposition -> ``{name: value}``, summed over label sets (e.g. per model)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        m = _LINE.match(line)
        if not m:
            continue
        try:
            v = float(m.group(3))
        except ValueError:
            continue
        if math.isfinite(v):
            out[m.group(1)] = out.get(m.group(1), 0.0) + v
    return out


def known(values: dict[str, float]) -> dict[str, float]:
    """The values the report shows, under infermeter's names (absent ones left out)."""
    out = {}
    for key, names in KNOWN.items():
        for n in names:
            if n in values:
                out[key] = values[n]
                break
    return out


@dataclass
class Scraper:
    """Fetches ``url`` every ``interval_s``; keeps (arrival time, raw bytes); never raises."""

    url: str
    now: Callable[[], float]
    interval_s: float = INTERVAL_S
    raw: list[tuple[float, bytes]] = field(default_factory=list)
    failures: int = 0
    note: str | None = None  # why there is nothing (set when the first scrape fails)

    async def run(self) -> None:
        """Scrape until cancelled; the first failure on an empty series stops it with a note."""
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=max(2.0, self.interval_s))
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=1)) as session:
            nxt = self.now()
            while True:
                why = await self._once(session)
                if why is not None:
                    self.failures += 1
                    if not self.raw:
                        self.note = f"the server exposes no metrics at {self.url} ({why})"
                        return
                nxt += self.interval_s
                await asyncio.sleep(max(0.0, nxt - self.now()))

    async def _once(self, session: Any) -> str | None:
        try:
            async with session.get(self.url) as resp:
                body = await resp.read()
                t = self.now()
                if resp.status != 200:
                    return f"HTTP {resp.status}"
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - an unreachable /metrics is a note, not a failure
            return type(err).__name__ + (f": {err}" if str(err) else "")
        if not self.raw and not known(parse_prometheus(body.decode("utf-8", "replace"))):
            return "no vLLM or llama.cpp metrics in it"
        self.raw.append((t, body))
        return None

    async def last(self) -> None:
        """One more sample after the last request, so counters cover the whole run."""
        import aiohttp

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0)) as session:
            if await self._once(session) is not None:
                self.failures += 1

    def samples(self) -> list[dict[str, Any]]:
        """Parsed samples: ``{"t": perf_counter seconds, "values": {...}}`` (after the run)."""
        return [{"t": t, "values": known(parse_prometheus(b.decode("utf-8", "replace")))} for t, b in self.raw]


@contextlib.asynccontextmanager
async def scraping(url: str | None, now: Callable[[], float]) -> AsyncIterator[Scraper | None]:
    """Scrape ``url`` in the background while the body runs (nothing when ``url`` is None)."""
    if url is None:
        yield None
        return
    sc = Scraper(url, now)
    task = asyncio.ensure_future(sc.run())
    await asyncio.sleep(0)  # the first scrape starts before the first request
    try:
        yield sc
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await sc.last()


# -- analysis (pure) ------------------------------------------------------------------------------------
def _delta(a: dict[str, float], b: dict[str, float], key: str) -> float | None:
    return b[key] - a[key] if key in a and key in b else None


def point_summary(samples: list[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    """The server's numbers over one profile point's span [start, end]: gauges' mean and max, counters' growth.

    Counters grow from the last sample before the point to the first one after it (a second's worth
    of a neighbouring point may fall inside that bracket; the last point's is exact, as a final
    sample is taken after the last request).
    """
    inside = [s for s in samples if start <= s["t"] <= end]
    before = [s for s in samples if s["t"] < start][-1:]
    after = [s for s in samples if s["t"] > end][:1]
    edge = before + inside + after
    out: dict[str, Any] = {"samples": len(inside)}
    for key in GAUGES:
        vals = [s["values"][key] for s in inside if key in s["values"]]
        if vals:
            out[key] = {"mean": sum(vals) / len(vals), "max": max(vals)}
    if len(edge) >= 2:
        a, b = edge[0]["values"], edge[-1]["values"]
        q, h = _delta(a, b, "prefix_cache_queries_total"), _delta(a, b, "prefix_cache_hits_total")
        if q:
            out["prefix_cache_hit_rate"] = h / q if h is not None else None
        out["preemptions"] = _delta(a, b, "preemptions_total")
        dt = edge[-1]["t"] - edge[0]["t"]
        gen = _delta(a, b, "generation_tokens_total")
        out["generation_tokens_per_s"] = gen / dt if gen is not None and dt > 0 else None
    if "prefix_cache_hit_rate" not in out:
        rates = [s["values"]["prefix_cache_hit_rate"] for s in inside if "prefix_cache_hit_rate" in s["values"]]
        if rates:
            out["prefix_cache_hit_rate"] = rates[-1]
    return out


def section(
    url: str | None, scraper: Scraper | None, spans: list[tuple[float, float]], t0: float | None
) -> dict[str, Any]:
    """The report's ``server_metrics``: where from, per point summaries, and the series (t from ``t0``)."""
    if url is None:
        return {"url": None, "available": False, "note": "not scraped (--server-metrics off)", "points": []}
    samples = scraper.samples() if scraper else []
    if not samples:
        note = (scraper.note if scraper else None) or f"the server exposes no metrics at {url}"
        return {"url": url, "available": False, "note": note, "points": []}
    base = t0 if t0 is not None else samples[0]["t"]
    keys = sorted({k for s in samples for k in s["values"]})
    series = {"t": [round(s["t"] - base, 4) for s in samples[:MAX_SERIES]]}
    for k in keys:
        series[k] = [s["values"].get(k) for s in samples[:MAX_SERIES]]
    return {
        "url": url,
        "available": True,
        "note": None,
        "samples": len(samples),
        "failures": scraper.failures if scraper else 0,
        "metrics": keys,
        "points": [point_summary(samples, a, b) for a, b in spans],
        "series": series,
    }
