"""A response cache for deployed models: LRU, bounded by entries and by bytes, deterministic requests only.

A cached response is only correct when the model would have produced the same response again: greedy
decoding (or beam search), or sampling with a fixed per-request seed. Anything else is passed through
and counted as ``uncacheable``, never served from the cache. The key is a hash of the normalized request
(messages / prompt / token ids, model) and every generation parameter, so two requests that differ in
any knob (temperature, max tokens, stop strings, ...) never share an entry.

Such a cache is easily mismeasured by sending one input 100 times, i.e. 99 hits: ``stats()`` keeps hits and
misses apart (counts and latencies) so the hit rate is always visible beside the speed-up.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from infermeter import stats
from infermeter.config import CacheSpec, parse_cache_spec
from infermeter.errors import InfermeterError

#: Request fields that change how a response is delivered, not what it says.
DELIVERY_FIELDS = frozenset({"stream", "stream_options", "user"})


def is_deterministic(request: Mapping[str, Any]) -> bool:
    """Whether the same request always gets the same response: greedy / beam search, or a fixed seed.

    ``do_sample`` (transformers) decides when present; otherwise the OpenAI convention applies:
    temperature (default 1) above 0 samples unless ``top_k`` is 1.
    """
    if request.get("seed") is not None:
        return True
    if "do_sample" in request:
        return not request["do_sample"]
    temperature = request.get("temperature")
    temperature = 1.0 if temperature is None else float(temperature)
    return temperature == 0.0 or request.get("top_k") == 1


def _canonical(value: Any) -> Any:
    # 1 and 1.0 are the same knob value; bools stay bools (True == 1 in Python, not in a request).
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return repr(value)


def request_key(request: Mapping[str, Any]) -> str:
    """A stable hash of the request's content and every generation parameter (delivery fields dropped)."""
    body = {k: v for k, v in request.items() if k not in DELIVERY_FIELDS}
    text = json.dumps(_canonical(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def payload_size(value: Any) -> int:
    """Bytes a cached value holds: exact for bytes/str, the pickled size otherwise."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    return len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


@dataclass
class CacheStats:
    """Counters of a response cache. Latencies are seconds, one per lookup timed by the cache."""

    hits: int = 0
    misses: int = 0
    uncacheable: int = 0  # non-deterministic requests: passed through, never served from the cache
    evictions: int = 0
    rejected: int = 0  # responses larger than the byte bound: not stored
    entries: int = 0
    bytes: int = 0
    max_entries: int | None = None
    max_bytes: int | None = None
    hit_latency_s: list[float] = field(default_factory=list)
    miss_latency_s: list[float] = field(default_factory=list)

    @property
    def lookups(self) -> int:
        """Cacheable requests (hits + misses)."""
        return self.hits + self.misses

    @property
    def hit_rate(self) -> float | None:
        """Hits over cacheable requests (None before the first one)."""
        return self.hits / self.lookups if self.lookups else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: counters, hit rate, and hit/miss latency summaries (raw values kept)."""

        def summary(vals: list[float]) -> dict[str, Any] | None:
            s = stats.summarize(vals)
            return s.to_dict() if s else None

        d = {k: v for k, v in self.__dict__.items() if not k.endswith("_latency_s")}
        d.update(
            hit_rate=self.hit_rate,
            hit_latency_s=summary(self.hit_latency_s),
            miss_latency_s=summary(self.miss_latency_s),
        )
        return d


_MISSING = object()


class ResponseCache:
    """Thread-safe LRU of responses, bounded by entries and/or payload bytes.

    ``get``/``put`` work on keys from :meth:`key`, which is None for a request that must not be cached.
    :meth:`call` does the whole thing and times hits and misses apart::

        cache = ResponseCache(max_entries=1000, max_bytes=64 * 2**20)
        response, hit = cache.call(request, lambda: model(request))
    """

    def __init__(
        self,
        max_entries: int | None = None,
        max_bytes: int | None = None,
        *,
        clock: Callable[[], float] = time.perf_counter,
        sizeof: Callable[[Any], int] = payload_size,
    ) -> None:
        if max_entries is None and max_bytes is None:
            raise InfermeterError("a response cache needs a bound: max_entries and/or max_bytes")
        self._data: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._clock, self._sizeof = clock, sizeof
        self._stats = CacheStats(max_entries=max_entries, max_bytes=max_bytes)

    @classmethod
    def from_spec(cls, spec: str | CacheSpec | None, **kw: Any) -> ResponseCache | None:
        """``lru:SIZE`` -> a cache; ``none`` -> None."""
        s = spec if isinstance(spec, CacheSpec) or spec is None else parse_cache_spec(spec)
        return None if s is None else cls(s.max_entries, s.max_bytes, **kw)

    @staticmethod
    def key(request: Mapping[str, Any]) -> str | None:
        """The cache key of a request, or None when it is not deterministic (never cached)."""
        return request_key(request) if is_deterministic(request) else None

    def get(self, key: str | None, default: Any = None) -> Any:
        """The cached response (now most recently used) and a hit, or ``default`` and a miss."""
        with self._lock:
            if key is None:
                self._stats.uncacheable += 1
                return default
            entry = self._data.get(key)
            if entry is None:  # entries are (value, size) pairs, never None
                self._stats.misses += 1
                return default
            self._data.move_to_end(key)
            self._stats.hits += 1
            return entry[0]

    def put(self, key: str | None, value: Any, size: int | None = None) -> bool:
        """Store a response (evicting least recently used ones); False when it was not stored."""
        if key is None:
            return False
        nbytes = (self._sizeof(value) if size is None else size) + len(key)
        s = self._stats
        with self._lock:
            if s.max_bytes is not None and nbytes > s.max_bytes:
                s.rejected += 1
                return False
            old = self._data.pop(key, None)
            if old is not None:
                s.bytes -= old[1]
            self._data[key] = (value, nbytes)
            s.bytes += nbytes
            while (s.max_entries is not None and len(self._data) > s.max_entries) or (
                s.max_bytes is not None and s.bytes > s.max_bytes
            ):
                _, (_, dropped) = self._data.popitem(last=False)
                s.bytes -= dropped
                s.evictions += 1
            s.entries = len(self._data)
            return True

    def observe(self, hit: bool, seconds: float) -> None:
        """Record the latency of one request served as a hit or a miss (for callers that time themselves)."""
        with self._lock:
            (self._stats.hit_latency_s if hit else self._stats.miss_latency_s).append(seconds)

    def call(self, request: Mapping[str, Any], compute: Callable[[], Any]) -> tuple[Any, bool]:
        """Serve ``request`` from the cache or by ``compute()`` (then stored); returns (response, hit)."""
        t0 = self._clock()
        key = self.key(request)
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            self.observe(True, self._clock() - t0)
            return value, True
        value = compute()
        if key is not None:
            self.put(key, value)
            self.observe(False, self._clock() - t0)
        return value, False

    def clear(self) -> None:
        """Drop every entry (counters are kept)."""
        with self._lock:
            self._data.clear()
            self._stats.bytes = self._stats.entries = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def stats(self) -> CacheStats:
        """A consistent copy of the counters."""
        with self._lock:
            s = self._stats
            return CacheStats(
                **{k: v for k, v in s.__dict__.items() if not k.endswith("_latency_s")},
                hit_latency_s=list(s.hit_latency_s),
                miss_latency_s=list(s.miss_latency_s),
            )
