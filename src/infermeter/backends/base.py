"""The backend interface and its registry.

A backend loads a model and turns prompts into timestamped generations. It never computes a metric:
it reports when each token became visible (through the injected clock) and what was generated.
A new backend is one module in this package with a class decorated by ``@register("name")``.

A backend that talks to a server can also drive ``infermeter load``: it subclasses
:class:`ServingBackend` and hands out a :class:`StreamingClient` (one connection pool; one streamed
request per call, every token timestamped). The OpenAI-compatible backend is one such; ``load`` finds
its backend through :func:`get_serving_backend`, never by importing a concrete one.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from infermeter.core.prompts import Generation, Prompt, fingerprint
from infermeter.errors import InfermeterError

__all__ = [
    "Backend",
    "Generation",
    "LoadInfo",
    "Prompt",
    "ServingBackend",
    "StreamingClient",
    "fingerprint",
    "get_backend",
    "get_serving_backend",
    "serving_backend_for",
    "register",
]

if TYPE_CHECKING:
    import numpy as np

    from infermeter.config import GenerationParams, RunConfig
    from infermeter.core.clock import Clock
    from infermeter.workloads.base import WorkItem


@dataclass
class LoadInfo:
    """Facts about the loaded model that belong in the report."""

    model: str
    architecture: str
    device: str
    dtype: str
    load_s: float
    parameters: int
    weights_bytes: int
    placement: dict[str, int]  # device -> number of parameter/buffer tensors there
    tokenizer: str
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class Backend(ABC):
    """Loads one model and generates for batches of prompts."""

    name: ClassVar[str]

    def __init__(self, config: RunConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock

    @abstractmethod
    def load(self) -> LoadInfo:
        """Load the model, verify its placement, and describe it."""

    @abstractmethod
    def encode(self, item: WorkItem) -> Prompt:
        """Turn a workload item into a prompt (chat template applied when configured)."""

    @abstractmethod
    def synthetic_prompt(self, n_tokens: int, rng: np.random.Generator) -> Prompt:
        """A prompt of exactly ``n_tokens`` ordinary (non-special) tokens."""

    @abstractmethod
    def generate(self, prompts: list[Prompt], params: GenerationParams, force_len: bool) -> list[Generation]:
        """Generate for all prompts together (one batch); ``force_len`` forces max_new_tokens."""

    def close(self) -> None:  # noqa: B027 - optional hook; most backends free with the process
        """Release resources (the worker process ends anyway)."""


class StreamingClient(Protocol):
    """What ``load`` drives: requests streamed to a server over one connection pool.

    ``request`` returns the generation with each token's arrival time on ``now`` (the client's own
    monotonic clock); ``models`` lists what the server serves (also used to open keep-alive connections
    before anything is measured).
    """

    now: Callable[[], float]

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def models(self) -> list[str]: ...

    async def request(self, prompt: Prompt, params: GenerationParams, force: bool) -> Generation: ...


class ServingBackend(Backend):
    """A backend whose model sits behind a server: besides in-process calls, it makes streaming clients."""

    served: str  # the model name the server answers to (known after :meth:`load`)
    tok: Any  # the client-side token counter's tokenizer (exact prompt lengths, retokenized counts)

    @abstractmethod
    def make_client(self, max_connections: int = 0) -> StreamingClient:
        """A client for the served model (open it inside the event loop that will use it)."""


_REGISTRY: dict[str, type[Backend]] = {}


def register(name: str):  # noqa: ANN201 - decorator
    """Class decorator that makes a backend available under ``name``."""

    def deco(cls: type[Backend]) -> type[Backend]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def _discover() -> None:
    """Import every module of this package, so each registers its backend (plug-ins by registration)."""
    for mod in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if mod.name != "base":
            importlib.import_module(f"infermeter.backends.{mod.name}")


def available_backends() -> list[str]:
    """Names of all registered backends."""
    _discover()
    return sorted(_REGISTRY)


def get_backend(name: str) -> type[Backend]:
    """The backend class registered as ``name``, or a clear error listing the known names."""
    if name not in _REGISTRY:
        _discover()
    if name not in _REGISTRY:
        raise InfermeterError(f"unknown backend {name!r} (known: {', '.join(available_backends())})")
    return _REGISTRY[name]


def get_serving_backend(name: str) -> type[ServingBackend]:
    """The backend ``name`` when it can drive ``load`` (a server behind it), else one clear line."""
    cls = get_backend(name)
    if not issubclass(cls, ServingBackend):
        serving = [n for n in available_backends() if issubclass(_REGISTRY[n], ServingBackend)]
        raise InfermeterError(
            f"backend {name!r} measures a model in this process; `load` drives a server "
            f"(serving backends: {', '.join(serving)})"
        )
    return cls


def serving_backend_for(name: str, default: str = "openai") -> type[ServingBackend]:
    """What ``load`` drives for a config whose backend is ``name``: that backend when it is a serving one,
    else ``default`` (a config's backend defaults to the in-process ``hf``, and ``load`` always drives a
    server)."""
    cls = get_backend(name)
    return cls if issubclass(cls, ServingBackend) else get_serving_backend(default)
