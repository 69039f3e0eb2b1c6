"""Release a model between benchmarks, and check that it is really gone.

Dropping the last name of a model is not enough to free it: reference cycles wait for the cyclic
garbage collector, the CUDA caching allocator keeps freed blocks reserved, ``torch.compile`` caches
hold the compiled module, and a forgotten reference (a list, a closure, an exception's traceback)
keeps every weight alive. When that happens the next model's memory numbers silently include the
previous one. So :func:`cleanup` does not just free: it snapshots memory before and after and counts
the ``torch.nn.Parameter`` objects that are still alive, and :attr:`CleanupReport.clean` says
whether anything was left behind.

Levels, cumulative:

* ``none``: nothing (measures what dropping the names alone achieved);
* ``gc``: ``gc.collect()``, which frees models caught in reference cycles;
* ``gc+empty_cache``: also ``torch.cuda.empty_cache()`` when CUDA is initialised, so the
  caching allocator hands freed blocks back to the driver;
* ``full``: also ``torch._dynamo.reset()``, resets torch.compile's CUDA graph trees,
  ``torch.cuda.synchronize()``, frees the cuBLAS workspaces and resets the CUDA peak-memory
  statistics, so the next measured window starts from here. Below this level the workspaces that
  a model's first matmul allocated (up to tens of MiB) stay allocated and show as CUDA memory
  left over.

CUDA numbers are those of the current device, as in :mod:`infermeter.core.memory`.

Parameters are counted by scanning ``gc.get_objects()``, which sees every live tensor (tensors are
gc-tracked) whether or not anything still names it. A scan costs about 0.1 s per 400k live objects.
"""

from __future__ import annotations

import ctypes
import gc
import inspect
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import psutil

if TYPE_CHECKING:
    import torch

__all__ = ["LEVELS", "CleanupReport", "MemorySnapshot", "cleanup", "inference_session", "snapshot"]

LEVELS = ("none", "gc", "gc+empty_cache", "full")

MiB = 2**20
GiB = 2**30

# Allocations that the caching allocator rounds up or that the CUDA context makes on its own (cuBLAS
# workspaces, small internal buffers) must not make a cleanup look dirty; a leaked model is orders
# of magnitude larger.
_CUDA_SLACK = MiB

T = TypeVar("T")


def _cuda_live() -> bool:
    import torch  # heavy engine, imported on use: the CLI starts without it

    # is_initialized() keeps a CPU-only run from creating a CUDA context just to ask about memory.
    return torch.cuda.is_available() and torch.cuda.is_initialized()


@dataclass
class MemorySnapshot:
    """Memory of this process at one moment.

    ``live_params`` / ``live_param_bytes`` are keyed by device string (``"cpu"``, ``"cuda:0"``,
    ``"meta"``); parameters on ``meta`` own no memory but are still counted, since they show that a
    model object is alive. ``live_modules`` counts modules that directly own at least one parameter
    (``Linear``, ``Embedding``, norms), not the containers around them.
    """

    rss: int
    cuda_allocated: int | None
    cuda_reserved: int | None
    live_params: dict[str, int]
    live_param_bytes: dict[str, int]
    live_modules: int

    @property
    def param_count(self) -> int:
        """Live parameters on all devices."""
        return sum(self.live_params.values())

    @property
    def param_bytes(self) -> int:
        """Bytes of live parameters on all devices."""
        return sum(self.live_param_bytes.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def _param_bytes(p: torch.Tensor) -> int:
    try:
        return int(p.nbytes)
    except Exception:  # sparse or exotic layouts have no nbytes; numel * itemsize is close enough
        return int(p.numel() * p.element_size())


def _kind(cls: type) -> int:
    import torch  # heavy engine, imported on use: the CLI starts without it

    # 1: a Parameter; 2: a module; 3: a tensor subclass, a Parameter if flagged (below); 0: other.
    # Parameter(t) of a tensor *subclass* (DTensor, torchao's quantized tensors) keeps the subclass
    # and only sets ``_is_param`` on the instance. Plain torch.Tensor is never such a parameter.
    if issubclass(cls, torch.nn.Parameter):
        return 1
    if issubclass(cls, torch.nn.Module):
        return 2
    return 3 if issubclass(cls, torch.Tensor) and cls is not torch.Tensor else 0


def _scan() -> tuple[dict[str, int], dict[str, int], int]:
    # Types are classified once per class, not per object: the scan visits every gc-tracked
    # object in the process (~400k with transformers loaded, ~0.1 s). issubclass on type(obj)
    # never calls a __class__ property (lazy proxies override it), nor Parameter's isinstance
    # hook, which reads an attribute of every object and trips deprecated module attributes.
    kinds: dict[type, int] = {}
    counts: dict[str, int] = {}
    nbytes: dict[str, int] = {}
    modules = 0
    objs = gc.get_objects()
    obj = None
    try:
        for obj in objs:
            cls = type(obj)
            kind = kinds.get(cls)
            if kind is None:
                kind = kinds[cls] = _kind(cls)
            if kind == 2:
                params = obj.__dict__.get("_parameters")
                if params and any(p is not None for p in params.values()):
                    modules += 1
            elif kind == 1 or (kind == 3 and obj.__dict__.get("_is_param")):
                device = str(obj.device)
                counts[device] = counts.get(device, 0) + 1
                nbytes[device] = nbytes.get(device, 0) + _param_bytes(obj)
    finally:
        # The list holds a strong reference to every object in the process; none may outlive the
        # call (nor sit in a traceback's frame if the scan fails), or the snapshot itself would
        # keep a dropped model alive.
        del objs, obj
    return counts, nbytes, modules


def snapshot() -> MemorySnapshot:
    """Process RSS, CUDA allocator counters (``None`` unless CUDA is initialised) and live parameters.

    Does not collect garbage: unreachable cycles that the collector has not visited yet are still
    counted as live, which is what they are until something frees them. Objects moved out of the
    collector's sight by ``gc.freeze()`` (some servers freeze after loading a model) are not seen
    by the scan, nor freed by any level.
    """
    import torch  # heavy engine, imported on use: the CLI starts without it

    counts, nbytes, modules = _scan()
    alloc = reserved = None
    if _cuda_live():
        alloc = int(torch.cuda.memory_allocated())
        reserved = int(torch.cuda.memory_reserved())
    return MemorySnapshot(
        rss=int(psutil.Process().memory_info().rss),
        cuda_allocated=alloc,
        cuda_reserved=reserved,
        live_params=counts,
        live_param_bytes=nbytes,
        live_modules=modules,
    )


def _fmt_bytes(n: int) -> str:
    if abs(n) >= GiB:
        return f"{n / GiB:.2f} GiB"
    return f"{n / MiB:.1f} MiB"


def _delta(a: MemorySnapshot, b: MemorySnapshot) -> dict[str, int]:
    # a - b per key. A CUDA counter that is None on one side (CUDA was initialised in between) is
    # taken as 0 there: nothing could have been allocated before the context existed.
    out = {"rss": a.rss - b.rss, "live_param_bytes": a.param_bytes - b.param_bytes}
    for key in ("cuda_allocated", "cuda_reserved"):
        x, y = getattr(a, key), getattr(b, key)
        if x is not None or y is not None:
            out[key] = (x or 0) - (y or 0)
    return out


@dataclass
class CleanupReport:
    """What one :func:`cleanup` call freed and what it left behind.

    ``left`` and ``clean`` compare against ``baseline`` (memory before the model existed) when one
    was given. Without a baseline nothing is assumed to be legitimately alive: every live parameter
    and every allocated CUDA byte counts as left over.
    """

    level: str
    seconds: float
    before: MemorySnapshot
    after: MemorySnapshot
    baseline: MemorySnapshot | None

    @property
    def freed(self) -> dict[str, int]:
        """``before - after`` for ``rss``, ``live_param_bytes`` and the CUDA counters when present."""
        return _delta(self.before, self.after)

    @property
    def left(self) -> dict[str, int]:
        """``after - baseline`` for the same keys; empty without a baseline."""
        return {} if self.baseline is None else _delta(self.after, self.baseline)

    @property
    def leftover_params(self) -> dict[str, tuple[int, int]]:
        """Device -> (parameters, bytes) alive now beyond the baseline (all of them without one)."""
        base = self.baseline
        out = {}
        for device, count in self.after.live_params.items():
            extra = count - (base.live_params.get(device, 0) if base else 0)
            if extra > 0:
                size = self.after.live_param_bytes.get(device, 0)
                size -= base.live_param_bytes.get(device, 0) if base else 0
                out[device] = (extra, max(size, 0))
        return out

    @property
    def cuda_left(self) -> int | None:
        """CUDA bytes allocated now beyond the baseline; ``None`` when CUDA was never initialised."""
        if self.after.cuda_allocated is None:
            return None
        base = self.baseline.cuda_allocated if self.baseline is not None else None
        return self.after.cuda_allocated - (base or 0)

    @property
    def clean(self) -> bool:
        """No parameters alive beyond the baseline and, with CUDA, at most 1 MiB more allocated.

        Parameters are compared by count per device, so parameters that were alive at the baseline
        (a model deliberately kept) do not make a later cleanup dirty.
        """
        cuda = self.cuda_left
        return not self.leftover_params and (cuda is None or cuda <= _CUDA_SLACK)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, derived fields included."""
        return {
            "level": self.level,
            "seconds": self.seconds,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "baseline": self.baseline.to_dict() if self.baseline is not None else None,
            "freed": self.freed,
            "left": self.left,
            "leftover_params": {d: {"count": c, "bytes": b} for d, (c, b) in self.leftover_params.items()},
            "clean": self.clean,
        }

    def summary(self) -> str:
        """One line, e.g. ``cleanup 'gc' (0.12 s): freed 37.4 MiB RSS, 37.4 MiB of parameters; clean``."""
        freed = self.freed
        parts = [f"{_fmt_bytes(freed['rss'])} RSS"]
        if "cuda_allocated" in freed:
            parts.append(f"{_fmt_bytes(freed['cuda_allocated'])} CUDA allocated")
            parts.append(f"{_fmt_bytes(freed['cuda_reserved'])} CUDA reserved")
        parts.append(f"{_fmt_bytes(freed['live_param_bytes'])} of parameters")
        line = f"cleanup {self.level!r} ({self.seconds:.2f} s): freed {', '.join(parts)}"
        if self.clean:
            return line + "; clean"
        left = [f"{c} parameters ({_fmt_bytes(b)}) on {d}" for d, (c, b) in self.leftover_params.items()]
        cuda = self.cuda_left
        if cuda is not None and cuda > _CUDA_SLACK:
            where = "above baseline" if self.baseline is not None else "in total"
            left.append(f"{_fmt_bytes(cuda)} CUDA allocated {where}")
        return f"{line}; NOT clean, left: {', '.join(left)}"


def _collect(max_passes: int = 4) -> None:
    """``gc.collect()`` until a pass finds nothing (at most ``max_passes``).

    One pass is not always enough: objects whose finalizers run in a pass (weakref callbacks,
    ``__del__``) can drop the last references to others only then. Seen on an H200: a
    torch.compile'd Qwen3-1.7B (3.2 GiB of parameters) survived one pass and went on the second.
    """
    for _ in range(max_passes):
        if gc.collect() == 0:
            return


def _release(level: str) -> None:
    import torch  # heavy engine, imported on use: the CLI starts without it

    if level == "none":
        return
    cuda = _cuda_live()
    if level == "full":
        # Before gc: compiled graphs and guards hold strong references to the module they were
        # compiled from. Only if dynamo was ever imported; importing it just to reset costs seconds.
        dynamo = sys.modules.get("torch._dynamo")
        if dynamo is not None:
            dynamo.reset()
        # CUDA graph trees (torch.compile mode="reduce-overhead", which transformers uses for its
        # static-cache auto-compile) keep the recorded graphs' static inputs, the parameters among
        # them, alive; dynamo.reset() does not touch them. Seen on an H200: a compiled Qwen3-1.7B
        # stayed resident (3.2 GiB) after dynamo.reset + gc + empty_cache until the trees went.
        trees = sys.modules.get("torch._inductor.cudagraph_trees")
        if trees is not None:
            trees.reset_cudagraph_trees()
    _collect()
    if level == "gc":
        return
    if cuda:
        if level == "full":
            # Kernels still queued may use blocks whose tensors Python already dropped; wait for
            # them so empty_cache can hand those blocks back too.
            torch.cuda.synchronize()
            # cuBLAS workspaces come from the caching allocator on the first matmul and stay
            # allocated, so without this a model's first forward looks like a leak of up to tens of
            # MiB. PyTorch's own CUDA leak check clears them the same way.
            clear_workspaces = getattr(torch._C, "_cuda_clearCublasWorkspaces", None)
            if clear_workspaces is not None:
                clear_workspaces()
        torch.cuda.empty_cache()
        if level == "full":
            torch.cuda.reset_peak_memory_stats()


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"unknown cleanup level {level!r}; choose one of {', '.join(LEVELS)}")


def cleanup(level: str = "full", *, baseline: MemorySnapshot | None = None) -> CleanupReport:
    """Free what can be freed at ``level`` and report what is still alive.

    Drop your own references first (``del model``): no level can free an object that something
    still names. ``baseline`` is a :func:`snapshot` taken before the model was created; with it the
    report tells what the model left behind rather than everything in the process.
    ``seconds`` times the freeing only, not the two snapshots around it.
    """
    _check_level(level)
    before = snapshot()
    t0 = time.perf_counter()
    _release(level)
    seconds = time.perf_counter() - t0
    return CleanupReport(level, seconds, before, snapshot(), baseline)


def _drop_names(frame: FrameType, targets: list[Any]) -> None:
    # Rebinds to None the names in ``frame`` that refer to one of ``targets`` (by identity), so the
    # idiomatic ``model = s.track(load())`` does not keep the model alive after the with block.
    ids = {id(t) for t in targets}
    fast = bool(frame.f_code.co_flags & inspect.CO_OPTIMIZED) and sys.version_info < (3, 13)
    local_vars = frame.f_locals
    try:
        names = [name for name, value in local_vars.items() if id(value) in ids]
        if fast:
            # Function frames keep locals in fast slots, and before PEP 667 (3.13) f_locals is a
            # copy that has to be written back. clear=0: names absent from the copy are left alone.
            if names:
                local_vars.update(dict.fromkeys(names))
                ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))
        else:
            # Module and class bodies: f_locals is the namespace itself. 3.13+: a write-through proxy.
            for name in names:
                local_vars[name] = None
    finally:
        if fast:
            # The copy stays attached to the frame and would keep every local of this moment alive
            # (say a layer the caller dels later) until something refreshes it. Reading f_locals
            # or locals() again rebuilds it from the fast slots.
            local_vars.clear()
        del local_vars


class inference_session:  # noqa: N801 - used like a function: `with inference_session() as s`
    """Context manager that releases what it was given and checks that it is gone.

    ::

        with inference_session(level="full") as s:
            model = s.track(load_model())
            run_benchmark(model)
        print(s.report.summary())

    A baseline snapshot is taken on entry. On exit, also when the block raises, the session drops
    the references it holds (everything passed to :meth:`track`), rebinds to ``None`` the names in
    the ``with`` block's own scope that refer to a tracked object (``model`` above; turn this off
    with ``drop_names=False``), runs :func:`cleanup` at ``level`` against the baseline and stores
    the :class:`CleanupReport` in ``report``.

    When the block raised, the local variables of the frames in the traceback are cleared first
    (``traceback.clear_frames``): a frame that was inside ``model.forward`` names the model as
    ``self``, and would keep it alive for as long as anyone holds the exception. The exception
    itself, its type, message and line numbers, propagates unchanged; post-mortem debuggers see
    those frames without their locals. A frame also keeps its function alive, which clearing
    cannot undo: a closure made per call still holds what it closed over. PyTorch makes one when
    a module has hooks (``Module._call_impl``'s ``inner`` closes over the module and its inputs),
    so an exception raised through a hooked module keeps that module, and the autograd graph of
    its inputs, alive until the exception is dropped; the report then says NOT clean.

    Anything else still naming the model (an attribute, a list, a closure) keeps it alive and the
    report says so: that is the check, not something this class tries to hide.
    """

    def __init__(self, level: str = "full", *, drop_names: bool = True) -> None:
        _check_level(level)  # fail before the work, not after it
        self.level = level
        self.drop_names = drop_names
        self.report: CleanupReport | None = None
        self.baseline: MemorySnapshot | None = None
        self._tracked: list[Any] = []

    def track(self, obj: T) -> T:
        """Hand ``obj`` to the session, which releases it on exit; returns ``obj``."""
        self._tracked.append(obj)
        return obj

    def __enter__(self) -> inference_session:
        self.baseline = snapshot()
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: Any) -> None:
        if tb is not None:
            traceback.clear_frames(tb)  # frames still executing (the with block's own) are skipped
        if self.drop_names and self._tracked:
            frame = sys._getframe(1)  # the frame that runs the with statement
            try:
                _drop_names(frame, self._tracked)
            finally:
                del frame
        self._tracked.clear()
        self.report = cleanup(self.level, baseline=self.baseline)
