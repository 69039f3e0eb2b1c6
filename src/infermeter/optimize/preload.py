"""Load and warm a model in a background thread while the application starts.

Loading weights is mostly file I/O and tensor copies, which release the GIL; so is a warm-up
generate() call. An application that has its own start-up work (config, routes, connections, other
models) can overlap the two: ``Preloader(load, warm).start()`` early, ``preloader.get()`` when the
model is first needed. Callers that arrive after the model is ready do not wait at all; callers that
arrive early wait only for what is left. An exception raised while loading or warming is re-raised to
every caller of ``get()``, with its original traceback.

What it buys is measured, not assumed: ``timings()`` says how long loading and warming took and how
long callers actually waited (``benchmarks/cache_honest.py`` and the tests measure the overlap).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from infermeter.backends.base import get_backend
from infermeter.config import RunConfig, build_config
from infermeter.core.clock import clock_for
from infermeter.optimize.warmup import warmup

T = TypeVar("T")


class Preloader(Generic[T]):
    """``load()`` then ``warm(model)`` in a daemon thread; ``get()`` returns the model (waiting if needed)."""

    def __init__(
        self,
        load: Callable[[], T],
        warm: Callable[[T], Any] | None = None,
        *,
        name: str = "infermeter-preload",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._load, self._warm, self._clock = load, warm, clock
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._model: T | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._t: dict[str, float] = {}
        self._waits: list[float] = []

    @classmethod
    def for_config(cls, config: Any, strategy: str = "different-input") -> Preloader[Any]:
        """An infermeter backend for a run config (dict or RunConfig), warmed with ``strategy`` (see warmup)."""

        cfg = config if isinstance(config, RunConfig) else build_config(config)

        def load() -> Any:

            backend = get_backend(cfg.backend)(cfg, clock_for(cfg.model.device))
            backend.load()
            return backend

        def warm(backend: Any) -> None:
            import numpy as np

            params = cfg.generation.model_copy(update={"max_new_tokens": cfg.measure.probe_output_len})
            prompts = lambda k: [  # noqa: E731 - one line
                backend.synthetic_prompt(cfg.measure.probe_prompt_len, np.random.default_rng([cfg.seed, 9, k]))
            ]
            warmup(
                lambda p: backend.generate(p, params, True),
                strategy,
                same=prompts(0),
                different=prompts,
                runs=cfg.measure.warmup_runs,
            )

        return cls(load, warm)

    def start(self) -> Preloader[T]:
        """Begin loading in the background (idempotent); returns self."""
        with self._lock:
            if "start" not in self._t:
                self._t["start"] = self._clock()
                self._thread.start()
        return self

    def _work(self) -> None:
        try:
            model = self._load()
            self._t["loaded"] = self._clock()
            if self._warm is not None:
                self._warm(model)
            self._t["warmed"] = self._clock()
            self._model = model
        except BaseException as err:  # noqa: BLE001 - handed to the caller of get()
            self._error = err
        finally:
            self._t["done"] = self._clock()
            self._done.set()

    @property
    def ready(self) -> bool:
        """True once loading and warming finished (successfully or not)."""
        return self._done.is_set()

    def get(self, timeout: float | None = None) -> T:
        """The loaded, warmed model. Starts the preload if nobody did; waits only if it is not ready yet.

        Re-raises the loader's exception; raises TimeoutError if ``timeout`` seconds pass first.
        """
        self.start()
        t0 = self._clock()
        if not self._done.wait(timeout):
            raise TimeoutError(f"model not ready after {timeout} s")
        with self._lock:
            self._waits.append(self._clock() - t0)
        if self._error is not None:
            raise self._error
        return cast(T, self._model)  # done without an error: _work stored the loaded model

    def timings(self) -> dict[str, Any]:
        """Seconds: load, warm-up, total background time, and how long each ``get()`` waited."""
        t = self._t
        start = t.get("start")
        out: dict[str, Any] = {"ready": self.ready, "error": repr(self._error) if self._error else None}
        if start is not None and "loaded" in t:
            out["load_s"] = t["loaded"] - start
        if "loaded" in t and "warmed" in t:
            out["warm_s"] = t["warmed"] - t["loaded"]
        if start is not None and "done" in t:
            out["total_s"] = t["done"] - start
        with self._lock:
            out["waits_s"] = list(self._waits)
        return out

    def __enter__(self) -> Preloader[T]:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self._thread.join()
