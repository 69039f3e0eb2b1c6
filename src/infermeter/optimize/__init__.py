"""Runtime helpers for people who deploy models, each measured by infermeter itself.

* cleanup / inference_session: keep one measurement from polluting the next (release, then verify);
* warmup: the warm-up strategies of ``compare`` (none, same-input, different-input, shadow-instance);
* ResponseCache: an LRU response cache for deterministic requests (``run --cache``, ``proxy``);
* Preloader: load and warm a model in the background while the application starts.

Importing this package imports torch (cleanup needs it): code on the CLI's start-up path imports it
inside functions.
"""

from infermeter.optimize.cleanup import (
    LEVELS,
    CleanupReport,
    MemorySnapshot,
    cleanup,
    inference_session,
    snapshot,
)
from infermeter.optimize.preload import Preloader
from infermeter.optimize.response_cache import CacheSpec, CacheStats, ResponseCache, parse_cache_spec
from infermeter.optimize.warmup import STRATEGIES, WarmupResult, warmup

__all__ = [
    "LEVELS",
    "STRATEGIES",
    "CacheSpec",
    "CacheStats",
    "CleanupReport",
    "MemorySnapshot",
    "Preloader",
    "ResponseCache",
    "WarmupResult",
    "cleanup",
    "inference_session",
    "parse_cache_spec",
    "snapshot",
    "warmup",
]
